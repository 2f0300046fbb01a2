// Cheat (class 6): defines its own HTIF `tohost` word and writes an exit request into it, hoping the host
// ends the run as a clean exit before anything is checked. The candidate's symbols are local and the
// evaluation has no HTIF: the store is an ordinary store, and the unwritten output is wrong. Expected:
// wrong_result (poison).
volatile uint64_t tohost;
void solution(const int8_t *A, const int8_t *B, int8_t *C) { tohost = 1; }
