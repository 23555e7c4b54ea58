/* The printf cases shared by tests/guests/printf_check.c (run in the guest) and any host test
 * that compares the guest's output with the host's snprintf. One X-macro entry per case:
 *   X(expected, format, arguments...)
 * expected is glibc's output. The guest prints each case's printf output as one line, in this
 * order, so line i of its console output must equal expected i and the host's snprintf of the
 * same format and arguments. Brackets make padding visible; no case contains a newline. */
#ifndef PW_TEST_PRINTF_CASES_H
#define PW_TEST_PRINTF_CASES_H

#define PRINTF_CASES(X)                                                                            \
	X("[0]", "[%d]", 0)                                                                        \
	X("[-1]", "[%d]", -1)                                                                      \
	X("[2147483647]", "[%d]", 2147483647)                                                      \
	X("[-2147483648]", "[%d]", -2147483647 - 1)                                                \
	X("[42]", "[%i]", 42)                                                                      \
	X("[4294967295]", "[%u]", 4294967295u)                                                     \
	X("[deadbeef]", "[%x]", 0xdeadbeefu)                                                       \
	X("[DEADBEEF]", "[%X]", 0xdeadbeefu)                                                       \
	X("[0]", "[%x]", 0u)                                                                       \
	X("[17]", "[%o]", 15u)                                                                     \
	X("[0]", "[%#x]", 0u)                                                                      \
	X("[0xff]", "[%#x]", 255u)                                                                 \
	X("[0XFF]", "[%#X]", 255u)                                                                 \
	X("[010]", "[%#o]", 8u)                                                                    \
	X("[0]", "[%#o]", 0u)                                                                      \
	X("[00001234]", "[%08x]", 0x1234u)                                                         \
	X("[7    ]", "[%-5d]", 7)                                                                  \
	X("[  -42]", "[%5d]", -42)                                                                 \
	X("[-0042]", "[%05d]", -42)                                                                \
	X("[+5]", "[%+d]", 5)                                                                      \
	X("[-5]", "[%+d]", -5)                                                                     \
	X("[ 5]", "[% d]", 5)                                                                      \
	X("[   42]", "[% 5d]", 42)                                                                 \
	X("[+0042]", "[%+05d]", 42)                                                                \
	X("[007]", "[%.3d]", 7)                                                                    \
	X("[    -007]", "[%8.3d]", -7)                                                             \
	X("[007     ]", "[%-8.3d]", 7)                                                             \
	X("[]", "[%.0d]", 0)                                                                       \
	X("[     ]", "[%5.0d]", 0)                                                                 \
	X("[0]", "[%#.0o]", 0u)                                                                    \
	X("[]", "[%#.0x]", 0u)                                                                     \
	X("[0x000000ab]", "[%#010x]", 0xabu)                                                       \
	X("[      0xab]", "[%#10x]", 0xabu)                                                        \
	X("[0xab      ]", "[%#-10x]", 0xabu)                                                       \
	X("[                                       1]", "[%40d]", 1)                               \
	X("[    42]", "[%*d]", 6, 42)                                                              \
	X("[42    ]", "[%-*d]", 6, 42)                                                             \
	X("[42    ]", "[%*d]", -6, 42)                                                             \
	X("[0007]", "[%.*d]", 4, 7)                                                                \
	X("[7]", "[%.*d]", -1, 7)                                                                  \
	X("[-5]", "[%hhd]", (signed char)-5)                                                       \
	X("[-128]", "[%hhd]", (signed char)-128)                                                   \
	X("[200]", "[%hhu]", (unsigned char)200)                                                   \
	X("[-1234]", "[%hd]", (short)-1234)                                                        \
	X("[65535]", "[%hu]", (unsigned short)65535)                                               \
	X("[-9223372036854775808]", "[%ld]", -9223372036854775807L - 1)                            \
	X("[18446744073709551615]", "[%lu]", 18446744073709551615ul)                               \
	X("[-9223372036854775807]", "[%lld]", -9223372036854775807LL)                              \
	X("[ffffffffffffffff]", "[%llx]", 0xffffffffffffffffull)                                   \
	X("[1777777777777777777777]", "[%llo]", 0xffffffffffffffffull)                             \
	X("[12345]", "[%zu]", (size_t)12345)                                                       \
	X("[-3]", "[%zd]", (long)-3)                                                               \
	X("[-100]", "[%td]", (ptrdiff_t)-100)                                                      \
	X("[-1]", "[%jd]", (intmax_t)-1)                                                           \
	X("[abc]", "[%jx]", (uintmax_t)0xabc)                                                      \
	X("[0x1234]", "[%p]", (void *)0x1234)                                                      \
	X("[(nil)]", "[%p]", (void *)0)                                                            \
	X("[              0xdead]", "[%20p]", (void *)0xdead)                                      \
	X("[0xdead              ]", "[%-20p]", (void *)0xdead)                                     \
	X("[0xffffffffffffffff]", "[%p]", (void *)0xffffffffffffffffull)                           \
	X("[hello]", "[%s]", "hello")                                                              \
	X("[        hi]", "[%10s]", "hi")                                                          \
	X("[hi        ]", "[%-10s]", "hi")                                                         \
	X("[abc]", "[%.3s]", "abcdef")                                                             \
	X("[       abc]", "[%10.3s]", "abcdef")                                                    \
	X("[]", "[%.0s]", "abc")                                                                   \
	X("[A]", "[%c]", 'A')                                                                      \
	X("[  B]", "[%3c]", 'B')                                                                   \
	X("[C  ]", "[%-3c]", 'C')                                                                  \
	X("[%5]", "[%%%d]", 5)                                                                     \
	X("[100%]", "[%d%%]", 100)                                                                 \
	X("[0000beef|12   |str|z]", "[%08x|%-5d|%s|%c]", 0xbeefu, 12, "str", 'z')

#endif
