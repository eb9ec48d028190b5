#!/usr/bin/env python3
"""tools/summarize_seeds.py: mean and spread of `vididi demo` results over seeds.

Reads the results.json of each demo run directory given (one per seed) and
prints, per encoder row and k, the mean R@k, the sample standard deviation
and the per-seed values, in percent, as a markdown table. Standard library
only; not a plotting tool (each run directory has its own recall.png).

Usage: python3 tools/summarize_seeds.py runs/synth_seed_0 runs/synth_seed_1 runs/synth_seed_2
"""
import json
import statistics
import sys


def main(dirs):
    if len(dirs) < 2:
        sys.exit("usage: summarize_seeds.py RUN_DIR RUN_DIR [...] (at least two demo run directories)")
    results = []
    for d in dirs:
        try:
            with open(d + "/results.json") as f:
                results.append(json.load(f))
        except (OSError, ValueError) as e:
            sys.exit(f"{d}/results.json: cannot read ({e}); hint: pass `vididi demo --out` directories")
    rows = [k for k in results[0] if isinstance(results[0][k], dict) and "recall" in results[0][k]]
    ks = list(results[0][rows[0]]["recall"].keys())
    print(f"R@k in percent over {len(dirs)} seeds: mean ± sample std (per-seed values)\n")
    print("| encoder | " + " | ".join("R@" + k for k in ks) + " |")
    print("|---" * (len(ks) + 1) + "|")
    for row in rows:
        cells = []
        for k in ks:
            vals = [100 * r[row]["recall"][k] for r in results]
            cells.append(f"{statistics.mean(vals):.1f} ± {statistics.stdev(vals):.1f} ("
                         + ", ".join(f"{v:.1f}" for v in vals) + ")")
        print(f"| {row} | " + " | ".join(cells) + " |")
    print("\nwall time per run: " + ", ".join(f"{r.get('seconds', '?')} s" for r in results)
          + f" on {results[0].get('device', '?')}")


if __name__ == "__main__":
    main(sys.argv[1:])
