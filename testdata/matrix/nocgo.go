//go:build !matrixcgo

package main

const cgoLinked = "nocgo"

func cgoCall(x int) int { return x + 1 }
