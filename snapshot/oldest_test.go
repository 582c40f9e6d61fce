package snapshot

import (
	"reflect"
	"testing"
)

// TestNoteSampleKeepsOldest: whatever the order samples arrive in, the
// MaxOldest oldest are kept, oldest first.
func TestNoteSampleKeepsOldest(t *testing.T) {
	var st StackStats
	for _, ns := range []uint64{50, 10, 70, 30, 20, 60, 40} {
		st.NoteSample(LiveSample{Addr: ns * 16, AllocNS: ns})
	}
	want := []LiveSample{{160, 10}, {320, 20}, {480, 30}, {640, 40}}
	if !reflect.DeepEqual(st.Oldest, want) {
		t.Errorf("Oldest = %v, want %v", st.Oldest, want)
	}
}
