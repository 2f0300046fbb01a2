// Never exits: the run must stop at --max-cycles with a clear message.
int main(void) {
  volatile int x = 0;
  for (;;) x++;
}
