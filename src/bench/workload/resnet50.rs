//! The `resnet50` workload group: every distinct convolution and matrix-multiplication layer shape of
//! ResNet-50 v1.5 at batch 4 on 224x224 images, the network Gemmini's `imagenet/resnet50.c` runs.
//!
//! v1.5 (torchvision's, and Gemmini's resnet50.c: its `conv_12` is a 1x1 stride-1 matmul on the 56x56
//! input and `conv_13` the strided 3x3) puts a bottleneck's stride 2 on its 3x3 convolution, and its
//! projection shortcut is a 1x1 stride-2 convolution (`tiled_conv_downsample` in resnet50.c). The stem is a
//! 7x7 stride-2 convolution with ReLU and a 3x3 stride-2 max-pool with padding 1, fused into one
//! `tiled_conv_auto` call. 1x1 stride-1 convolutions are GEMMs with M = 4 * H * W output pixels (resnet50.c
//! runs them with `tiled_matmul_nn_auto`); the stage-2 projection shortcut (64 -> 256, stride 1) has the
//! shape of stage 2's last 1x1 and is not listed twice.

use super::strided::StridedConv;
use super::Workload;

/// The group's name.
pub const GROUP: &str = "resnet50";

/// The batch of every layer.
pub const BATCH: u64 = 4;

/// ResNet-50's distinct layer shapes, in network order, with how many of the network's 54 layers
/// (53 convolutions and the classifier) have each shape: `(workload, occurrences)`.
pub fn layers() -> Vec<(Workload, u32)> {
    let b = BATCH;
    let strided = |name: &str, conv: StridedConv| Workload::strided(name, GROUP, conv);
    let gemm = |name: &str, m, n, k| Workload::gemm(name, GROUP, m, n, k);
    let conv3 =
        |pq: u64, ck: u64| Workload::conv(&format!("resnet50_3x3_{pq}x{ck}"), GROUP, b, pq, ck);
    let stem = StridedConv {
        pool_size: 3,
        pool_stride: 2,
        pool_padding: 1,
        ..StridedConv::new(b, 224, 3, 64, 7, 2, 3).relu()
    };
    vec![
        (strided("resnet50_stem_7x7s2_pool", stem), 1),
        // stage 2: 56x56, 3 blocks
        (gemm("resnet50_c2_1x1_64_64", 12544, 64, 64), 1),
        (conv3(56, 64), 3),
        (gemm("resnet50_c2_1x1_64_256", 12544, 256, 64), 4),
        (gemm("resnet50_c2_1x1_256_64", 12544, 64, 256), 2),
        // stage 3: 28x28, 4 blocks; the first downsamples
        (gemm("resnet50_c3_1x1_256_128", 12544, 128, 256), 1),
        (
            strided(
                "resnet50_c3_3x3s2_56x128",
                StridedConv::new(b, 56, 128, 128, 3, 2, 1).relu(),
            ),
            1,
        ),
        (gemm("resnet50_c3_1x1_128_512", 3136, 512, 128), 4),
        (
            strided(
                "resnet50_c3_down_256_512",
                StridedConv::new(b, 56, 256, 512, 1, 2, 0),
            ),
            1,
        ),
        (gemm("resnet50_c3_1x1_512_128", 3136, 128, 512), 3),
        (conv3(28, 128), 3),
        // stage 4: 14x14, 6 blocks
        (gemm("resnet50_c4_1x1_512_256", 3136, 256, 512), 1),
        (
            strided(
                "resnet50_c4_3x3s2_28x256",
                StridedConv::new(b, 28, 256, 256, 3, 2, 1).relu(),
            ),
            1,
        ),
        (gemm("resnet50_c4_1x1_256_1024", 784, 1024, 256), 6),
        (
            strided(
                "resnet50_c4_down_512_1024",
                StridedConv::new(b, 28, 512, 1024, 1, 2, 0),
            ),
            1,
        ),
        (gemm("resnet50_c4_1x1_1024_256", 784, 256, 1024), 5),
        (conv3(14, 256), 5),
        // stage 5: 7x7, 3 blocks
        (gemm("resnet50_c5_1x1_1024_512", 784, 512, 1024), 1),
        (
            strided(
                "resnet50_c5_3x3s2_14x512",
                StridedConv::new(b, 14, 512, 512, 3, 2, 1).relu(),
            ),
            1,
        ),
        (gemm("resnet50_c5_1x1_512_2048", 196, 2048, 512), 3),
        (
            strided(
                "resnet50_c5_down_1024_2048",
                StridedConv::new(b, 14, 1024, 2048, 1, 2, 0),
            ),
            1,
        ),
        (gemm("resnet50_c5_1x1_2048_512", 196, 512, 2048), 2),
        (conv3(7, 512), 2),
        // global average pool, then the classifier
        (gemm("resnet50_fc_2048_1000", 4, 1000, 2048), 1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::Kind;

    #[test]
    fn every_layer_of_the_network_once() {
        let l = layers();
        assert_eq!(l.len(), 24, "distinct shapes");
        // 53 convolutions and the classifier
        assert_eq!(l.iter().map(|(_, n)| n).sum::<u32>(), 54);
        let mut shapes: Vec<String> = l.iter().map(|(w, _)| w.shape()).collect();
        shapes.sort();
        shapes.dedup();
        assert_eq!(shapes.len(), 24, "no shape twice");
        // The whole network's MACs at batch 4: about 4 x 4.1 G.
        let macs: u64 = l.iter().map(|(w, n)| w.macs() * u64::from(*n)).sum();
        assert!((16_000_000_000..16_800_000_000).contains(&macs), "{macs}");
        for (w, _) in &l {
            if let Kind::StridedConv(s) = w.kind {
                assert_eq!(s.invalid(), None, "{}", w.name);
            }
        }
        let stem = &l[0].0;
        assert_eq!(
            stem.shape(),
            "b4 224x224 c3 -> 112x112 k64 (7x7, stride 2, pad 3, relu) + maxpool 3/2/1 -> 56x56"
        );
    }
}
