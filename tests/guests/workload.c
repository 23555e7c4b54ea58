/* The campaign workload: a few hundred instructions between two checkpoints. Checkpoint 0 is
 * the snapshot point; checkpoint 1 reports a rotate-xor checksum over data (the output a
 * silent corruption changes); a second, additive pass checked against a constant detects
 * corrupted data (panic: "detected"). */
#include <pagewarden/guest.h>

#define WORDS 32
#define K     0x9e3779b97f4a7c15ull

/* Not static, not const: the compiler must read it at run time. */
uint64_t workload_data[WORDS] = {
#define W(i) ((i) * K + 1)
    W(0),  W(1),  W(2),  W(3),  W(4),  W(5),  W(6),  W(7),  W(8),  W(9),  W(10),
    W(11), W(12), W(13), W(14), W(15), W(16), W(17), W(18), W(19), W(20), W(21),
    W(22), W(23), W(24), W(25), W(26), W(27), W(28), W(29), W(30), W(31),
};

/* sum of W(i) for i < 32 = K * 496 + 32 (mod 2^64) */
#define ADD_EXPECT (K * 496 + 32)

int main(void)
{
	uint64_t sum = 0, add = 0;

	pw_checkpoint(0, 0);
	for (int i = 0; i < WORDS; i++)
		sum = ((sum << 5) | (sum >> 59)) ^ workload_data[i];
	pw_checkpoint(1, sum);
	for (int i = 0; i < WORDS; i++)
		add += workload_data[i];
	if (add != ADD_EXPECT)
		panic("data corrupted");
	return 0;
}
