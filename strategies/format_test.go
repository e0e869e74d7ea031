package strategies

import "testing"

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567",
		-1000: "-1,000", -999: "-999", 100000: "100,000",
	} {
		if got := GroupDigits(n); got != want {
			t.Errorf("GroupDigits(%d): got %q, want %q", n, got, want)
		}
	}
}
