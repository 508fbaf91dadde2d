#include "textflag.h"

// func StoreUint64(addr *uint64, val uint64)
// x86-64 keeps stores in program order, and the call keeps the compiler
// from moving the caller's earlier stores past it.
TEXT ·StoreUint64(SB), NOSPLIT, $0-16
	MOVQ addr+0(FP), AX
	MOVQ val+8(FP), BX
	MOVQ BX, (AX)
	RET
