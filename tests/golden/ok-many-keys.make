# 150000 plain keys and no alias (300000 nodes, more than the 100000 that aliases
# may add): the sweep plans.
echo "sweep: many-keys"
echo "base_model: ../../sweeps/models/tiny-base/model.safetensors"
echo "datasets: {train: ../../sweeps/data/arith-train.jsonl}"
echo "grid: {lr: [1.0e-4, 3.0e-4]}"
echo "x-notes:"
awk 'BEGIN { for (i = 0; i < 150000; i++) printf "  key%d: value%d\n", i, i }'
