#!/usr/bin/env python3
"""tools/convert_act_pickle.py: converts an ACT-format annotation pickle into
vididi's plain-text tube file (data/tube_file.h; docs/PROTOCOLS.md "Tube
annotations"), so that the C++ side never parses a pickle.

The pickles are those ACT (Kalogeiton et al., ICCV 2017), MOC and mmaction2
distribute for UCF101-24 (UCF101v2-GT.pkl, the corrected annotations) and
JHMDB-21 (JHMDB-GT.pkl): a dict with
  labels        [class names], index = label
  train_videos  [[video, ...] per split], test_videos likewise
  nframes       {video: number of frames}
  resolution    {video: (height, width)}
  gttubes       {video: {label: [array (n, 5) of rows frame, x1, y1, x2, y2]}}
frames 1-based, boxes in pixels of that resolution. Python 2 pickles load
with encoding='latin1'; the arrays are numpy's.

Usage: convert_act_pickle.py PICKLE OUT.txt [--dataset NAME] [--clamp] [--gaps stop|split]
  --clamp      clip boxes to the frame (counted) instead of refusing them
  --gaps split cut a tube whose frames are not consecutive into runs (counted)
               instead of refusing it
Not here: reading frames, or anything the C++ reader checks again.
"""
import argparse
import pickle
import sys


def number(x):
    return format(float(x), '.8g')


def load(path):
    with open(path, 'rb') as f:
        try:
            return pickle.load(f, encoding='latin1')
        except Exception as e:  # a foreign or truncated file
            sys.exit(f'{path}: not a readable pickle ({e}); expected ACT\'s UCF101v2-GT.pkl or JHMDB-GT.pkl')


def rows_of(tube):
    """The rows of a tube (numpy array or nested lists) as lists of floats."""
    rows = tube.tolist() if hasattr(tube, 'tolist') else list(tube)
    return [[float(v) for v in r] for r in rows]


def convert(pkl, name, clamp=False, gaps='stop'):
    for key in ('labels', 'train_videos', 'test_videos', 'nframes', 'resolution', 'gttubes'):
        if key not in pkl:
            raise ValueError(f'the pickle has no "{key}" entry; expected the ACT format (labels, train_videos, '
                             'test_videos, nframes, resolution, gttubes)')
    out = ['# vididi tube annotations, written by tools/convert_act_pickle.py', 'vididi-tubes 1', f'dataset {name}']
    for i, label in enumerate(pkl['labels']):
        out.append(f'class {i} {label}')
    videos = sorted(pkl['nframes'])
    for v in videos:
        if ' ' in v:
            raise ValueError(f'video "{v}" has a blank in its name')
        h, w = pkl['resolution'][v]
        out.append(f'video {v} {int(pkl["nframes"][v])} {number(w)} {number(h)}')
    for subset in ('train', 'test'):
        for s, lst in enumerate(pkl[f'{subset}_videos']):
            for v in lst:
                if v not in pkl['nframes']:
                    raise ValueError(f'split {s + 1} {subset} lists video "{v}", which has no nframes entry')
                out.append(f'split {s + 1} {subset} {v}')
    clamped = cut = 0
    for v in sorted(pkl['gttubes']):
        h, w = pkl['resolution'][v]
        for label in sorted(pkl['gttubes'][v]):
            for tube in pkl['gttubes'][v][label]:
                rows = rows_of(tube)
                runs, run = [], []
                for r in rows:
                    if run and int(r[0]) != int(run[-1][0]) + 1:
                        if gaps != 'split':
                            raise ValueError(f'video "{v}" class {label}: frame {int(r[0])} follows {int(run[-1][0])}; '
                                             'a tube covers consecutive frames (--gaps split cuts it into runs)')
                        runs.append(run)
                        run = []
                        cut += 1
                    run.append(r)
                runs.append(run)
                for run in runs:
                    out.append(f'tube {v} {int(label)} {len(run)}')
                    for f, x1, y1, x2, y2 in run:
                        if clamp:
                            c = [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]
                            clamped += c != [x1, y1, x2, y2]
                            x1, y1, x2, y2 = c
                        out.append(f'{int(f)} {number(x1)} {number(y1)} {number(x2)} {number(y2)}')
    return '\n'.join(out) + '\n', clamped, cut


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('pickle')
    ap.add_argument('out')
    ap.add_argument('--dataset', default='', help='name written into the file (default: from the pickle name)')
    ap.add_argument('--clamp', action='store_true', help='clip boxes to the frame instead of refusing them')
    ap.add_argument('--gaps', choices=['stop', 'split'], default='stop')
    a = ap.parse_args()
    name = a.dataset or ('UCF101-24' if 'UCF' in a.pickle else 'JHMDB-21' if 'JHMDB' in a.pickle else a.pickle)
    try:
        text, clamped, cut = convert(load(a.pickle), name, a.clamp, a.gaps)
    except ValueError as e:
        sys.exit(f'{a.pickle}: {e}')
    with open(a.out, 'w') as f:
        f.write(text)
    print(f'wrote {a.out}: {text.count(chr(10) + "tube ")} tubes' +
          (f', {clamped} boxes clamped' if a.clamp else '') + (f', {cut} gaps cut' if cut else ''))


if __name__ == '__main__':
    main()
