//! Search/replace edits (`gemforge search --edits`): the implement step answers with blocks that replace
//! exact runs of lines of the parent program instead of a whole program. The format, documented to the
//! model in `prompts/answer_edits.md`:
//!
//! ```text
//! <<<<<<< SEARCH
//! lines copied exactly from the original code
//! =======
//! the lines that replace them
//! >>>>>>> REPLACE
//! ```
//!
//! Application is strict, because a loose match (whitespace-normalised, first of several, all of several)
//! silently changes code the model did not mean: each search text must equal a run of whole lines of the
//! parent exactly once, blocks must not overlap, and all blocks apply to the parent (not to each other's
//! results). Anything else is an [`EditError`] naming the block (1-based) and what is wrong, which the search
//! records as the failure class `edit` and can send to the repair round.

const SEARCH: &str = "<<<<<<< SEARCH";
const DIVIDER: &str = "=======";
const REPLACE: &str = ">>>>>>> REPLACE";

/// One parsed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The lines to find (without line ends).
    pub search: Vec<String>,
    /// The lines that replace them.
    pub replace: Vec<String>,
}

/// Why an answer's edits cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the answer has no edit blocks (`{SEARCH}` ... `{DIVIDER}` ... `{REPLACE}`)")]
    NoBlocks,
    #[error("edit block {block} is not well formed: {why}")]
    Malformed { block: usize, why: String },
    #[error(
        "edit block {block}: its search text is empty; copy at least one line of the original code"
    )]
    EmptySearch { block: usize },
    #[error(
        "edit block {block}: its search text does not occur in the original code (its first line: {first:?}); \
         copy the lines exactly, indentation included"
    )]
    NoMatch { block: usize, first: String },
    #[error(
        "edit block {block}: its search text occurs {count} times in the original code (at lines {lines}); \
         include more lines to make it unique"
    )]
    Ambiguous {
        block: usize,
        count: usize,
        lines: String,
    },
    #[error(
        "edit blocks {first} and {second} overlap (both change line {line} of the original code); merge them"
    )]
    Overlap {
        first: usize,
        second: usize,
        line: usize,
    },
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.trim_end() == marker
}

/// Parse the edit blocks of an answer. Text outside blocks (prose, code fences) is ignored; a marker out
/// of order, or a block left open, is an error naming the block.
pub fn parse(answer: &str) -> Result<Vec<Edit>, EditError> {
    #[derive(PartialEq)]
    enum At {
        Outside,
        Search,
        Replace,
    }
    let mut at = At::Outside;
    let mut edits: Vec<Edit> = Vec::new();
    let mut cur = Edit {
        search: Vec::new(),
        replace: Vec::new(),
    };
    for (i, line) in answer.lines().enumerate() {
        let block = edits.len() + 1;
        let bad = |why: String| EditError::Malformed { block, why };
        let (s, d, r) = (
            is_marker(line, SEARCH),
            is_marker(line, DIVIDER),
            is_marker(line, REPLACE),
        );
        match at {
            At::Outside => {
                if s {
                    at = At::Search;
                } else if d || r {
                    return Err(bad(format!(
                        "answer line {}: `{}` outside a block (a block opens with `{SEARCH}`)",
                        i + 1,
                        line.trim_end()
                    )));
                }
            }
            At::Search => {
                if d {
                    at = At::Replace;
                } else if s || r {
                    return Err(bad(format!(
                        "answer line {}: `{}` before the block's `{DIVIDER}`",
                        i + 1,
                        line.trim_end()
                    )));
                } else {
                    cur.search.push(line.to_string());
                }
            }
            At::Replace => {
                if r {
                    edits.push(std::mem::replace(
                        &mut cur,
                        Edit {
                            search: Vec::new(),
                            replace: Vec::new(),
                        },
                    ));
                    at = At::Outside;
                } else if s || d {
                    return Err(bad(format!(
                        "answer line {}: `{}` before the block's `{REPLACE}`",
                        i + 1,
                        line.trim_end()
                    )));
                } else {
                    cur.replace.push(line.to_string());
                }
            }
        }
    }
    match at {
        At::Outside => {}
        At::Search => {
            return Err(EditError::Malformed {
                block: edits.len() + 1,
                why: format!(
                    "the answer ends before its `{DIVIDER}` (cut off at the token limit?)"
                ),
            })
        }
        At::Replace => {
            return Err(EditError::Malformed {
                block: edits.len() + 1,
                why: format!(
                    "the answer ends before its `{REPLACE}` (cut off at the token limit?)"
                ),
            })
        }
    }
    if edits.is_empty() {
        return Err(EditError::NoBlocks);
    }
    Ok(edits)
}

/// Apply edits to `original` strictly (see the module's description). The result ends with a newline.
pub fn apply(original: &str, edits: &[Edit]) -> Result<String, EditError> {
    let lines: Vec<&str> = original.lines().collect();
    // (first line, line count, block index) of every block's one match.
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (b, e) in edits.iter().enumerate() {
        let block = b + 1;
        if e.search.is_empty() {
            return Err(EditError::EmptySearch { block });
        }
        let n = e.search.len();
        let hits: Vec<usize> = if n > lines.len() {
            Vec::new()
        } else {
            (0..=lines.len() - n)
                .filter(|&at| lines[at..at + n].iter().zip(&e.search).all(|(a, b)| a == b))
                .collect()
        };
        match hits.as_slice() {
            [] => {
                return Err(EditError::NoMatch {
                    block,
                    first: e.search[0].chars().take(120).collect(),
                })
            }
            [one] => spans.push((*one, n, b)),
            many => {
                let shown: Vec<String> = many.iter().take(8).map(|l| (l + 1).to_string()).collect();
                return Err(EditError::Ambiguous {
                    block,
                    count: many.len(),
                    lines: if many.len() > 8 {
                        format!("{}, ...", shown.join(", "))
                    } else {
                        shown.join(", ")
                    },
                });
            }
        }
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        let ((a, an, ab), (b, _, bb)) = (w[0], w[1]);
        if b < a + an {
            let (first, second) = (ab.min(bb) + 1, ab.max(bb) + 1);
            return Err(EditError::Overlap {
                first,
                second,
                line: b + 1,
            });
        }
    }
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut next = 0usize;
    for &(at, n, b) in &spans {
        out.extend_from_slice(&lines[next..at]);
        out.extend(edits[b].replace.iter().map(String::as_str));
        next = at + n;
    }
    out.extend_from_slice(&lines[next..]);
    let mut text = out.join("\n");
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIG: &str = "int a;\nvoid solution(void) {\n  x = 1;\n  y = 2;\n  x = 1;\n}\n";

    fn block(search: &str, replace: &str) -> String {
        format!("{SEARCH}\n{search}\n{DIVIDER}\n{replace}\n{REPLACE}\n")
    }

    #[test]
    fn strict_application() {
        let ans = format!(
            "Here:\n```c\n{}```\n{}",
            block("  y = 2;", "  y = 3;\n  z = 4;"),
            block("int a;", "int b;")
        );
        let e = parse(&ans).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            apply(ORIG, &e).unwrap(),
            "int b;\nvoid solution(void) {\n  x = 1;\n  y = 3;\n  z = 4;\n  x = 1;\n}\n"
        );
        // Deleting lines: an empty replace part.
        let e = parse(&format!("{SEARCH}\n  y = 2;\n{DIVIDER}\n{REPLACE}\n")).unwrap();
        assert_eq!(
            apply(ORIG, &e).unwrap(),
            "int a;\nvoid solution(void) {\n  x = 1;\n  x = 1;\n}\n"
        );
    }

    #[test]
    fn failures_name_the_block_and_why() {
        let two =
            |a: &str, b: &str| parse(&format!("{}{}", block("int a;", "int b;"), block(a, b)));
        let e = apply(ORIG, &two("  x = 1;", "  x = 5;").unwrap()).unwrap_err();
        assert_eq!(
            e,
            EditError::Ambiguous {
                block: 2,
                count: 2,
                lines: "3, 5".into()
            }
        );
        let e = apply(ORIG, &two("y = 2;", "y = 3;").unwrap()).unwrap_err();
        assert!(matches!(e, EditError::NoMatch { block: 2, .. }), "{e}");
        let e = apply(ORIG, &two("int a;\nvoid solution(void) {", "").unwrap()).unwrap_err();
        assert_eq!(
            e,
            EditError::Overlap {
                first: 1,
                second: 2,
                line: 1
            }
        );
        assert_eq!(
            parse("just prose\n```c\nint x;\n```"),
            Err(EditError::NoBlocks)
        );
        let e = parse(&format!("{SEARCH}\nint a;\n{REPLACE}\n")).unwrap_err();
        assert!(matches!(e, EditError::Malformed { block: 1, .. }), "{e}");
        let e = parse(&format!(
            "{}{SEARCH}\nint a;\n{DIVIDER}\nint",
            block("a", "b")
        ))
        .unwrap_err();
        assert!(
            matches!(&e, EditError::Malformed { block: 2, why } if why.contains("ends before")),
            "{e}"
        );
        let e = apply(
            ORIG,
            &parse(&format!("{SEARCH}\n{DIVIDER}\nx\n{REPLACE}\n")).unwrap(),
        );
        assert_eq!(e, Err(EditError::EmptySearch { block: 1 }));
    }
}
