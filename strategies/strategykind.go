package strategies

// StrategyKind is a strategy as the plan names it and the wizard offers it. The kinds
// are the rows of one table, strategyKinds, read by the plan's validation and the
// wizard; what a strategy does (its runner and rehearsal) is its row in
// strategies/rehearse, which can import the strategy's package where this one cannot.
type StrategyKind struct {
	Name     string // the plan's strategy:
	Option   string // the wizard's one-line choice
	Tradeoff string // two lines, + and -, as the product's founding guides put them
}

// strategyKinds is the table of strategies, in the order the wizard offers them.
var strategyKinds = []StrategyKind{
	{Name: StrategyBulk, Option: "bulk: import everyone now, hashes included",
		Tradeoff: "+ everyone moves at once and the old system can be switched off today\n" +
			"- sign-ups freeze during the import; hashes the IdP cannot import need resets"},
	{Name: StrategyLazy, Option: "lazy: move users as they sign in, then sweep",
		Tradeoff: "+ no forced resets, no downtime: users move as they sign in\n" +
			"- you run 'cutover bridge' for weeks, then 'cutover sweep' the rest"},
	{Name: StrategyAuthOnly, Option: "authonly: identifiers only, ids written back",
		Tradeoff: "+ your app keeps its rich user model; sign-in becomes passwordless\n" +
			"- you deploy a middleware that maps IdP sessions to local users"},
}

// StrategyKinds returns the strategies, in the order the wizard offers them.
func StrategyKinds() []StrategyKind { return append([]StrategyKind(nil), strategyKinds...) }

func strategyKindNames() []string {
	out := make([]string, 0, len(strategyKinds))
	for _, k := range strategyKinds {
		out = append(out, k.Name)
	}
	return out
}
