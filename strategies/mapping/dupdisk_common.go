package mapping

// DefaultDupMemory is how many identifiers the duplicate index keeps on the Go heap
// (about 1.2 MB) before it moves to a temporary file, so a pass over a source uses the
// same memory for a thousand rows and for five million.
const DefaultDupMemory = 1 << 16
