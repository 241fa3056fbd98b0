#!/usr/bin/env python3
"""summarize.py OUTDIR: one table of images/s per batch size (library and PyTorch rows), ratios against PyTorch's matching
row, and the parity lines, from OUTDIR/dotnet_results.json and OUTDIR/torch_results.json."""
import json, os, sys

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []

def main():
    out = sys.argv[1]
    lib, tor = load(os.path.join(out, 'dotnet_results.json')), load(os.path.join(out, 'torch_results.json'))
    env = [r for r in lib + tor if r.get('kind') == 'env']
    for e in env:
        print('env:', ', '.join(f'{k}={v}' for k, v in e.items() if k != 'kind' and v is not None))
    if not any(e.get('gpu') for e in env):
        print('NO GPU PRESENT: every number below was measured on the CPU.')
    rows, batches, status = {}, set(), {}
    for r in lib + tor:
        if r.get('kind') != 'throughput':
            continue
        key = f"{r['name']} [{r['precision']}]"
        if 'status' in r:
            status[key] = r['status']; continue
        rows.setdefault(key, {})[r['batch']] = r['images_per_s']; batches.add(r['batch'])
    bs = sorted(batches)
    width = max([len(k) for k in list(rows) + list(status)] + [10])
    print(f"\n{'images/s':<{width}} " + ' '.join(f'{"b" + str(b):>9}' for b in bs))
    for k, v in rows.items():
        print(f'{k:<{width}} ' + ' '.join(f'{v.get(b, float("nan")):>9.1f}' for b in bs))
    for k, s in status.items():
        print(f'{k:<{width}} {s}')
    pairs = [('library EmbedRaw uint16 (preprocessing in the graph) [fp32]', 'pytorch end to end from uint16 [fp16]'),
             ('library EmbedRaw uint16 (preprocessing in the graph) [fp16]', 'pytorch end to end from uint16 [fp16]'),
             ('library EmbedPreprocessed [fp32]', 'pytorch fp32 channels-last [fp32]'),
             ('library EmbedPreprocessed [fp16]', 'pytorch fp16 autocast channels-last [fp16]'),
             ('library EmbedRaw uint16 (preprocessing in the graph) [fp32]', 'library EmbedBatch (host preprocessing) [fp32]')]
    print('\nratios (left / right, per batch):')
    for l, r in pairs:
        if l in rows and r in rows:
            print(f'  {l} / {r}: ' + ', '.join(f'b{b} {rows[l][b] / rows[r][b]:.2f}' for b in bs if b in rows[l] and b in rows[r]))
        else:
            print(f'  {l} / {r}: not available')
    print('\nparity (cosine, minimum over patches):')
    for p in lib + tor:
        if p.get('kind') == 'parity':
            print(f"  {p['name']} [{p.get('precision', 'fp32')}] vs {p['against']}: cos_min {p['cos_min']:.7f}, rel_l2_max {p['rel_l2_max']:.2e}")

if __name__ == '__main__':
    main()
