"""Benchmarks behind ``semanir bench``: attention implementations (Table 1 and its runtime twin),
one model, and SemanIR against its peers (Table 3)."""
