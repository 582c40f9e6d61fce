package goroutines

import (
	"strings"
	"unicode"
)

// runtimeWaitReasons are the strings the runtime prints in tracebacks
// (runtime2.go waitReasonStrings) for the wait reasons a leak report is
// most likely to show, keyed by constant name without "waitReason".
var runtimeWaitReasons = map[string]string{
	"Zero": "", "GCAssistMarking": "GC assist marking", "IOWait": "IO wait",
	"ChanReceiveNilChan": "chan receive (nil chan)", "ChanSendNilChan": "chan send (nil chan)",
	"DumpingHeap": "dumping heap", "GarbageCollection": "garbage collection",
	"GarbageCollectionScan": "garbage collection scan", "PanicWait": "panicwait",
	"Select": "select", "SelectNoCases": "select (no cases)", "GCAssistWait": "GC assist wait",
	"GCSweepWait": "GC sweep wait", "GCScavengeWait": "GC scavenge wait",
	"ChanReceive": "chan receive", "ChanSend": "chan send", "FinalizerWait": "finalizer wait",
	"ForceGCIdle": "force gc (idle)", "Semacquire": "semacquire", "Sleep": "sleep",
	"SyncCondWait": "sync.Cond.Wait", "SyncMutexLock": "sync.Mutex.Lock",
	"SyncRWMutexRLock": "sync.RWMutex.RLock", "SyncRWMutexLock": "sync.RWMutex.Lock",
	"SyncWaitGroupWait": "sync.WaitGroup.Wait", "TraceReaderBlocked": "trace reader (blocked)",
	"WaitForGCCycle": "wait for GC cycle", "GCWorkerIdle": "GC worker (idle)",
	"GCWorkerActive": "GC worker (active)", "Preempted": "preempted", "DebugCall": "debug call",
	"CleanupWait": "cleanup wait",
}

// readableWaitReason turns a constant name ("ChanSend") into the runtime's
// wording, or into lower-case words when the table does not know it.
func readableWaitReason(name string) string {
	if s, ok := runtimeWaitReasons[name]; ok {
		if s == "" {
			return "none"
		}
		return s
	}
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(name[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
