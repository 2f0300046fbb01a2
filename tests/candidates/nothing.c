// Cheat: writes nothing (the output keeps the harness's poison).
void solution(int8_t A[20][24], int8_t B[24][36], int8_t C[20][36]) {}
