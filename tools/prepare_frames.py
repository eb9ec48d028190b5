#!/usr/bin/env python3
"""tools/prepare_frames.py: extract JPEG frame folders from a folder of videos.

What it is: the preparation step for UCF101, HMDB51 and Kinetics-style data.
Videos VIDEOS/<class>/<video>.<ext> become OUT/<class>/<video>/img_00001.jpg ...
with the short side scaled to 128 (aspect kept) and high JPEG quality, several
ffmpeg processes at a time. Every frame the file holds is written exactly
once (ffmpeg -fps_mode passthrough; -vsync passthrough before ffmpeg 5.1):
no frame is duplicated or dropped to fit a declared frame rate, since a
repeated frame would show as zero motion in the temporal differences. --fps
resamples instead, and says so. Each video folder gets manifest.json (frames
written, source fps, duration, codec, size, timing). It is resumable: a video
is written to <video>.part/ and renamed when ffmpeg succeeds, so finished
videos are skipped on a rerun and interrupted ones are redone. It ends with a
summary of the files it skipped and why, copies the split files named by
--check next to the frames (--splits-out), and checks the counts against
them, the same lists the C++ dataset reads.
What it is not: a downloader, and it decodes nothing itself (ffmpeg and
ffprobe do). Standard library only.

Examples (docs/DATA.md has the full steps):
  tools/prepare_frames.py --videos UCF101/videos --out UCF101/frames \
      --check ucf101:ucfTrainTestlist:1          # split files -> UCF101/splits
  tools/prepare_frames.py --videos HMDB51/videos --out HMDB51/frames \
      --check hmdb51:testTrainMulti_7030_splits:1
  tools/prepare_frames.py --videos K400/videos/train --out K400/frames/train \
      --check list:K400/annotations/train.csv --splits-out K400/splits
"""
import argparse
import concurrent.futures as cf
import csv
import json
import os
import re
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
    """(class, video name without extension, path) for VIDEOS/<class>/<video>.<ext>,
    and the paths of other files in the class folders (unknown extension)."""
    found, unknown = [], []
    for cls in sorted(os.listdir(root)):
        cdir = os.path.join(root, cls)
        if not os.path.isdir(cdir):
            continue
        for name in sorted(os.listdir(cdir)):
            path = os.path.join(cdir, name)
            if name.lower().endswith(VIDEO_EXTS):
                found.append((cls, strip_ext(name), path))
            elif not name.startswith("."):
                unknown.append(path)
    return found, unknown


def timing_flag():
    """ffmpeg's option that keeps every frame's own timestamp: -fps_mode from 5.1 on."""
    try:
        out = subprocess.run(["ffmpeg", "-hide_banner", "-version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
    except OSError:
        return "-fps_mode"
    m = re.search(r"ffmpeg version n?(\d+)\.(\d+)", out)
    return "-vsync" if m and (int(m.group(1)), int(m.group(2))) < (5, 1) else "-fps_mode"


def probe(video):
    """Codec, size, frame rate and duration of the first video stream (ffprobe), or None."""
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
           "stream=codec_name,width,height,avg_frame_rate,r_frame_rate:format=duration",
           "-of", "json", video]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(run.stdout or "{}")
    except ValueError:
        return None
    streams = info.get("streams") or []
    if run.returncode != 0 or not streams:
        return None
    st = streams[0]

    def rate(text):
        num, _, den = (text or "0/0").partition("/")
        try:
            return float(num) / float(den) if float(den) else None
        except ValueError:
            return None
    try:
        duration = float(info.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = None
    return {"codec": st.get("codec_name"), "width": st.get("width"), "height": st.get("height"),
            "source_fps": rate(st.get("avg_frame_rate")) or rate(st.get("r_frame_rate")),
            "duration_s": duration}


def has_frames(folder):
    return os.path.isdir(folder) and any(n.startswith("img_") for n in os.listdir(folder))


def extract(video, out_dir, short_side, quality, fps, timing):
    """Runs ffmpeg into out_dir.part, writes its manifest, then renames.
    Returns None, or (reason, text) with reason one of "no video stream",
    "decode failure", "zero frames"."""
    info = probe(video)
    if info is None:
        return "no video stream", f"{video}: ffprobe finds no video stream"
    part = out_dir + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    # Short side -> short_side, the other side even and in proportion.
    scale = (f"scale='if(gt(iw,ih),-2,{short_side})':'if(gt(iw,ih),{short_side},-2)'")
    if fps is None:  # every frame once, at its own time
        vf, sync = scale, [timing, "passthrough"]
    else:            # resampled: frames repeated or dropped to make fps
        vf, sync = f"fps={fps},{scale}", []
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-threads", "1", "-i", video,
           "-vf", vf] + sync + ["-q:v", str(quality), "-start_number", "1",
                                os.path.join(part, "img_%05d.jpg")]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    frames = len([n for n in os.listdir(part) if n.startswith("img_")])
    if run.returncode != 0 or frames == 0:
        shutil.rmtree(part, ignore_errors=True)
        reason = "decode failure" if run.returncode != 0 else "zero frames"
        tail = (run.stderr or "no frames written").strip().splitlines()[-3:]
        return reason, f"{video}: ffmpeg exit {run.returncode}: " + " | ".join(tail)
    manifest = dict(info, source=video, frames=frames,
                    timing="passthrough (every frame once)" if fps is None else f"resampled to {fps} fps")
    with open(os.path.join(part, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.replace(part, out_dir)
    return None


def split_files(spec):
    """The official files behind a --check spec, to copy next to the frames."""
    kind, _, rest = spec.partition(":")
    path = rest.rsplit(":", 1)[0] if kind in ("ucf101", "hmdb51") and rest.rsplit(":", 1)[-1].isdigit() \
        and ":" in rest else rest
    if kind == "list":
        return [path]
    pat = re.compile(r"(classInd|trainlist0\d|testlist0\d)\.txt$" if kind == "ucf101" else r".*_test_split\d\.txt$")
    return [os.path.join(path, n) for n in sorted(os.listdir(path)) if pat.match(n)]


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
    ap.add_argument("--fps", default=None,
                    help="resample to this frame rate, repeating or dropping frames "
                         "(default: every frame once, as stored)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--check", action="append", default=[],
                    help="ucf101:DIR[:N] | hmdb51:DIR[:N] | list:FILE (repeatable)")
    ap.add_argument("--splits-out", default=None,
                    help="where the --check split files are copied (default: 'splits' next to --out)")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("prepare_frames: ffmpeg not found; install it (Debian: apt-get install -y ffmpeg)")
    if not os.path.isdir(args.videos):
        sys.exit(f"prepare_frames: {args.videos}: expected a folder of <class>/<video> files, found none")
    videos, unknown = find_videos(args.videos)
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
    timing = timing_flag()
    print(f"prepare_frames: {len(videos)} videos, {skipped} already done, {len(todo)} to extract "
          f"with {args.jobs} jobs", flush=True)
    if args.fps is None:
        print(f"prepare_frames: timing: every frame once, as stored (ffmpeg {timing} passthrough)")
    else:
        print(f"prepare_frames: timing: resampling to {args.fps} fps (--fps): frames are repeated or "
              "dropped to fit, and a repeated frame has zero temporal difference")
    failed = []
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(extract, p, o, args.short_side, args.quality, args.fps, timing)
                   for p, o in todo]
        for i, fut in enumerate(cf.as_completed(futures), 1):
            err = fut.result()
            if err:
                failed.append(err)
                print(f"failed ({err[0]}): {err[1]}", file=sys.stderr, flush=True)
            if i % 500 == 0:
                print(f"  {i}/{len(todo)}", flush=True)
    print(f"prepare_frames: extracted {len(todo) - len(failed)}, skipped {skipped}, failed {len(failed)}")
    reasons = [("unknown extension", p) for p in unknown] + [(r, t.split(": ", 1)[0]) for r, t in failed]
    if reasons:
        print(f"prepare_frames: {len(reasons)} files not extracted:")
        for reason in ("unknown extension", "no video stream", "decode failure", "zero frames"):
            paths = sorted(p for r, p in reasons if r == reason)
            if paths:
                shown = ", ".join(paths[:5]) + (f", ... ({len(paths) - 5} more)" if len(paths) > 5 else "")
                print(f"  {reason}: {len(paths)} ({shown})")
    if args.check:
        dest = args.splits_out or os.path.join(os.path.dirname(os.path.abspath(args.out)), "splits")
        os.makedirs(dest, exist_ok=True)
        copied = 0
        for spec in args.check:
            for f in split_files(spec):
                target = os.path.join(dest, os.path.basename(f))
                if not (os.path.exists(target) and os.path.samefile(f, target)):
                    shutil.copy2(f, target)
                copied += 1
        print(f"prepare_frames: copied {copied} split files to {dest}")
    missing = sum(check_counts(args.out, spec) for spec in args.check)
    if failed or missing:
        sys.exit(f"prepare_frames: {len(failed)} videos failed, {missing} listed videos lack frames; "
                 "rerun to retry (finished videos are skipped)")


if __name__ == "__main__":
    main()
