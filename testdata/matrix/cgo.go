//go:build matrixcgo

package main

/*
#include <stdlib.h>

static long roundtrip(long x) {
	void *p = malloc(64);
	free(p);
	return x + 1;
}
*/
import "C"

const cgoLinked = "cgo"

func cgoCall(x int) int { return int(C.roundtrip(C.long(x))) }
