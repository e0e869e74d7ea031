// Package strategies is cutover's engine: the plan that describes a cutover, the
// canonical user every source is mapped to, outcomes, errors, and the runners of the
// bulk, lazy and authonly strategies (in sub-packages) with their building blocks.
package strategies
