#!/usr/bin/env python3
"""tools/prepare_frames.py: extract JPEG frame folders from a folder of videos.

What it is: the preparation step for UCF101, HMDB51 and Kinetics-style data.
Videos VIDEOS/<class>/<video>.<ext> become OUT/<class>/<video>/img_00001.jpg ...
with the short side scaled to 128 (aspect kept) and high JPEG quality, several
ffmpeg processes at a time. It is resumable: a video is written to
<video>.part/ and renamed when ffmpeg succeeds, so finished videos are skipped
on a rerun and interrupted ones are redone. It ends with a count check against
the split files (--check), the same lists the C++ dataset reads.
What it is not: a downloader, and it decodes nothing itself (ffmpeg does).
Standard library only.

Examples (docs/DATA.md has the full steps):
  tools/prepare_frames.py --videos UCF-101 --out ucf101_frames \
      --check ucf101:ucfTrainTestlist:1
  tools/prepare_frames.py --videos hmdb51_org --out hmdb51_frames \
      --check hmdb51:testTrainMulti_7030_splits:1
  tools/prepare_frames.py --videos kinetics400/train --out k400_frames/train
"""
import argparse
import concurrent.futures as cf
import csv
import os
import shutil
import subprocess
import sys

VIDEO_EXTS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg")
# Videos per split in the official files: (train, test) for splits 1..3.
KNOWN = {
    "ucf101": {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)},
    "hmdb51": {1: (3570, 1530), 2: (3570, 1530), 3: (3570, 1530)},
}


def strip_ext(name):
    low = name.lower()
    for e in VIDEO_EXTS:
        if low.endswith(e) and len(name) > len(e):
            return name[: -len(e)]
    return name


def find_videos(root):
    """(class, video name without extension, path) for VIDEOS/<class>/<video>.<ext>."""
    found = []
    for cls in sorted(os.listdir(root)):
        cdir = os.path.join(root, cls)
        if not os.path.isdir(cdir):
            continue
        for name in sorted(os.listdir(cdir)):
            if name.lower().endswith(VIDEO_EXTS):
                found.append((cls, strip_ext(name), os.path.join(cdir, name)))
    return found


def has_frames(folder):
    return os.path.isdir(folder) and any(n.startswith("img_") for n in os.listdir(folder))


def extract(video, out_dir, short_side, quality, fps):
    """Runs ffmpeg into out_dir.part, then renames; returns None or an error text."""
    part = out_dir + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    # Short side -> short_side, the other side even and in proportion.
    scale = (f"scale='if(gt(iw,ih),-2,{short_side})':'if(gt(iw,ih),{short_side},-2)'")
    vf = scale if fps is None else f"fps={fps},{scale}"
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-threads", "1", "-i", video,
           "-vf", vf, "-q:v", str(quality), "-start_number", "1",
           os.path.join(part, "img_%05d.jpg")]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0 or not has_frames(part):
        shutil.rmtree(part, ignore_errors=True)
        tail = (run.stderr or "no frames written").strip().splitlines()[-3:]
        return f"{video}: ffmpeg exit {run.returncode}: " + " | ".join(tail)
    os.replace(part, out_dir)
    return None


def read_split(spec):
    """'ucf101:DIR[:N]', 'hmdb51:DIR[:N]' or 'list:FILE' -> (name, N, {subset: [rel paths]})."""
    kind, _, rest = spec.partition(":")
    path, split = rest, 1
    if kind in ("ucf101", "hmdb51") and rest.rsplit(":", 1)[-1].isdigit() and ":" in rest:
        path, n = rest.rsplit(":", 1)
        split = int(n)
    subsets = {}
    if kind == "ucf101":
        for subset, fname in (("train", f"trainlist0{split}.txt"), ("test", f"testlist0{split}.txt")):
            with open(os.path.join(path, fname)) as f:
                subsets[subset] = [strip_ext(l.split()[0]) for l in f if l.strip()]
    elif kind == "hmdb51":
        suffix = f"_test_split{split}.txt"
        subsets = {"train": [], "test": []}
        for fname in sorted(os.listdir(path)):
            if not fname.endswith(suffix):
                continue
            cls = fname[: -len(suffix)]
            with open(os.path.join(path, fname)) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] in ("1", "2"):
                        key = "train" if parts[1] == "1" else "test"
                        subsets[key].append(cls + "/" + strip_ext(parts[0]))
    elif kind == "list":
        with open(path) as f:
            first = f.readline()
            f.seek(0)
            if first.startswith("label,youtube_id"):
                rows = list(csv.DictReader(f))
                subsets["list"] = [f"{r['label']}/{r['youtube_id']}_{int(r['time_start']):06d}_"
                                   f"{int(r['time_end']):06d}" for r in rows]
            else:
                subsets["list"] = [strip_ext(l.split()[0]) for l in f if l.strip()]
    else:
        sys.exit(f"prepare_frames: --check expects ucf101:DIR[:N], hmdb51:DIR[:N] or list:FILE, got '{spec}'")
    return kind, split, subsets


def check_counts(out_root, spec):
    """Prints present/listed per subset; returns the number of missing videos."""
    kind, split, subsets = read_split(spec)
    missing = 0
    for subset, videos in subsets.items():
        absent = [v for v in videos if not has_frames(os.path.join(out_root, v))]
        missing += len(absent)
        note = ""
        if kind in KNOWN:
            full = KNOWN[kind][split][0 if subset == "train" else 1]
            note = f" (the full {kind} split {split} lists {full})"
        print(f"check {kind} {subset}: {len(videos) - len(absent)} of {len(videos)} listed videos have frames{note}")
        for v in absent[:10]:
            print(f"  missing: {os.path.join(out_root, v)}")
        if len(absent) > 10:
            print(f"  ... and {len(absent) - 10} more")
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", required=True, help="folder holding <class>/<video>.<ext>")
    ap.add_argument("--out", required=True, help="frame root to write <class>/<video>/img_00001.jpg")
    ap.add_argument("--short-side", type=int, default=128)
    ap.add_argument("--quality", type=int, default=2, help="ffmpeg -q:v, 2 (best) .. 31")
    ap.add_argument("--fps", default=None, help="resample to this frame rate (default: keep)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--check", action="append", default=[],
                    help="ucf101:DIR[:N] | hmdb51:DIR[:N] | list:FILE (repeatable)")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("prepare_frames: ffmpeg not found; install it (Debian: apt-get install -y ffmpeg)")
    if not os.path.isdir(args.videos):
        sys.exit(f"prepare_frames: {args.videos}: expected a folder of <class>/<video> files, found none")
    videos = find_videos(args.videos)
    if not videos:
        sys.exit(f"prepare_frames: {args.videos}: expected <class>/<video>{{{','.join(VIDEO_EXTS)}}}, found no videos")
    todo, skipped = [], 0
    for cls, name, path in videos:
        out_dir = os.path.join(args.out, cls, name)
        if has_frames(out_dir):
            skipped += 1
        else:
            os.makedirs(os.path.dirname(out_dir), exist_ok=True)
            todo.append((path, out_dir))
    print(f"prepare_frames: {len(videos)} videos, {skipped} already done, {len(todo)} to extract "
          f"with {args.jobs} jobs", flush=True)
    failed = []
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(extract, p, o, args.short_side, args.quality, args.fps) for p, o in todo]
        for i, fut in enumerate(cf.as_completed(futures), 1):
            err = fut.result()
            if err:
                failed.append(err)
                print("failed: " + err, file=sys.stderr, flush=True)
            if i % 500 == 0:
                print(f"  {i}/{len(todo)}", flush=True)
    print(f"prepare_frames: extracted {len(todo) - len(failed)}, skipped {skipped}, failed {len(failed)}")
    missing = sum(check_counts(args.out, spec) for spec in args.check)
    if failed or missing:
        sys.exit(f"prepare_frames: {len(failed)} videos failed, {missing} listed videos lack frames; "
                 "rerun to retry (finished videos are skipped)")


if __name__ == "__main__":
    main()
