# A sweep of 500000 plain keys (1000010 nodes with the rest) and no alias: refused
# for its size where the node past the limit is written, never as an alias
# expansion.
echo "sweep: big"
echo "grid: {lr: [1.0e-4]}"
echo "x-notes:"
awk 'BEGIN { for (i = 0; i < 500000; i++) printf "  key%d: value%d\n", i, i }'
