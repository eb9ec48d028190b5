#!/usr/bin/env python3
"""detection_map_reference.py -- frame-mAP and video-mAP from their published definitions.

An independent reference for vididi/eval/detection_metrics.h, written from
the definitions, not from the C++ code, and computed in exact rational
arithmetic (fractions.Fraction: every box coordinate, IoU, precision, recall
and AP is exact; a result becomes a float only when it is written out).
Python standard library only. Used by tests/test_eval_detection_reference.cpp;
also a tool for hand checks.

Sources:
  - AP, all points: M. Everingham et al., "The PASCAL Visual Object Classes
    Challenge 2012 (VOC2012) Development Kit", section "Average Precision"
    (the rule used from VOC2010 on): the precision at recall r is
    interpolated as the maximum precision at any recall >= r, and AP is the
    area under that interpolated curve, i.e. the sum over the recall levels
    reached of (recall step) x (interpolated precision there).
  - AP, trapezoid: ACT's evaluation script (V. Kalogeiton et al., "Action
    Tubelet Detector for Spatio-Temporal Action Localization", ICCV 2017,
    act-detector-scripts/ACT.py, pr_to_ap), reused by MOC (Y. Li et al., ECCV
    2020): the precision-recall points after each rank, preceded by
    (recall 0, precision 1), joined by straight lines, and the area under
    them.
  - Frame-mAP: G. Gkioxari and J. Malik, "Finding Action Tubes", CVPR 2015,
    section 5 (a detection on a frame is correct when its IoU with a ground
    truth box of its class on that frame is at least 0.5; AP per class over
    all frames' detections ranked by score; mean over classes), with the
    matching of ACT's frameAP: in rank order, a detection takes the
    not-yet-matched ground truth of its class on its frame with the highest
    IoU, and is a true positive when that IoU >= the threshold.
  - Video-mAP: P. Weinzaepfel, Z. Harchaoui and C. Schmid, "Learning to
    Track for Spatio-Temporal Action Localization", ICCV 2015, section 4.1,
    and ACT's iou3dt / videoAP: the spatio-temporal overlap of two tubes is
    their temporal IoU (frames both cover / frames either covers) times the
    mean of their per-frame box IoU over the frames both cover; tubes are
    matched per class and video as boxes are per frame.
  - Box IoU: intersection area / union area. Continuous coordinates by
    default, area (x2 - x1)(y2 - y1); with inclusive_pixels, a box covers
    the integer pixels x1..x2 and y1..y2 (the VOC devkit's and ACT's
    convention), area (x2 - x1 + 1)(y2 - y1 + 1).

Conventions where the sources leave a choice (those of docs/PROTOCOLS.md):
ties in score keep the input order (Python's sort is stable); among
unmatched ground truths of equal IoU the first in input order is taken;
a class without ground truth has no AP (null) and is left out of the mean;
a class with ground truth and no detection has AP 0; an IoU whose union is
empty is 0. A threshold is read as the decimal it is written as (0.2 is
exactly 1/5).

Usage: python3 tools/detection_map_reference.py IN.json OUT.json

IN.json:
  {"cases": [{
     "name": "...", "num_classes": C,
     "frame": {"detections": [{"video": v, "frame": f, "label": c, "score": s,
                               "box": [x1, y1, x2, y2]}, ...],
               "ground_truth": [same, score ignored]},
     "video": {"detections": [{"video": v, "label": c, "score": s,
                               "first_frame": t0,
                               "boxes": [[x1, y1, x2, y2], ...]}, ...],
               "ground_truth": [same, score ignored]},
     "evaluations": [{"metric": "frame" | "video", "iou_threshold": 0.5,
                      "ap_rule": "voc" | "trapezoid",
                      "inclusive_pixels": false}, ...]}, ...]}
  ("frame" or "video" may be left out when no evaluation uses it; a tube's
  boxes lie on the consecutive frames from first_frame.)

OUT.json:
  {"cases": [{"name": "...", "results": [{"metric", "iou_threshold",
     "ap_rule", "inclusive_pixels" (as given), "ap": [C values, null for a
     class without ground truth], "num_gt": [C], "num_det": [C],
     "classes_with_gt": n, "map": m}, ...]}, ...]}

Exit status 0 on success, 1 (with a message) on input it refuses, 2 on a
wrong command line.
"""

import json
import math
import sys
from fractions import Fraction


class InputError(Exception):
    pass


# ---------------------------------------------------------------- geometry


def interval_overlap(a1, a2, b1, b2, inclusive):
    """Length of [a1, a2] n [b1, b2]; in pixels when inclusive (a1..a2 counts a2 - a1 + 1)."""
    length = min(a2, b2) - max(a1, b1) + (1 if inclusive else 0)
    return max(Fraction(0), length)


def area(box, inclusive):
    x1, y1, x2, y2 = box
    return interval_overlap(x1, x2, x1, x2, inclusive) * interval_overlap(y1, y2, y1, y2, inclusive)


def box_iou(a, b, inclusive):
    inter = interval_overlap(a[0], a[2], b[0], b[2], inclusive) * interval_overlap(a[1], a[3], b[1], b[3], inclusive)
    union = area(a, inclusive) + area(b, inclusive) - inter
    return inter / union if union > 0 else Fraction(0)


def tube_iou(a, b, inclusive):
    """Spatio-temporal IoU: temporal IoU x mean box IoU over the common frames."""
    fa, fb = a["by_frame"], b["by_frame"]
    common = sorted(set(fa) & set(fb))
    if not common:
        return Fraction(0)
    # Both tubes cover consecutive frames, so the frames either covers are the
    # frames from the earlier start to the later end once they overlap.
    temporal = Fraction(len(common), len(set(fa) | set(fb)))
    spatial = sum((box_iou(fa[t], fb[t], inclusive) for t in common), Fraction(0)) / len(common)
    return temporal * spatial


# ---------------------------------------------------------- average precision


def pr_curve(tp_flags, num_gt):
    """(recall, precision) after each rank, exact."""
    points, hits = [], 0
    for rank, tp in enumerate(tp_flags, start=1):
        hits += 1 if tp else 0
        points.append((Fraction(hits, num_gt), Fraction(hits, rank)))
    return points


def ap_voc_all_points(tp_flags, num_gt):
    """VOC2010+: area under the precision interpolated as max precision at recall >= r."""
    points = pr_curve(tp_flags, num_gt)
    levels = sorted({r for r, _ in points if r > 0})
    ap, previous = Fraction(0), Fraction(0)
    for r in levels:
        interpolated = max(p for rr, p in points if rr >= r)
        ap += (r - previous) * interpolated
        previous = r
    return ap


def ap_trapezoid(tp_flags, num_gt):
    """ACT's pr_to_ap: trapezoids under the raw curve from (recall 0, precision 1)."""
    points = [(Fraction(0), Fraction(1))] + pr_curve(tp_flags, num_gt)
    return sum(((r1 - r0) * (p1 + p0) / 2 for (r0, p0), (r1, p1) in zip(points, points[1:])), Fraction(0))


AP_RULES = {"voc": ap_voc_all_points, "trapezoid": ap_trapezoid}


# ------------------------------------------------------------------ matching


def evaluate(dets, gts, num_classes, key, overlap, threshold, ap_rule):
    """Per-class AP and their mean; key names the frame (or video), overlap is the IoU."""
    num_gt = [sum(1 for g in gts if g["label"] == c) for c in range(num_classes)]
    num_det = [sum(1 for d in dets if d["label"] == c) for c in range(num_classes)]
    aps = []
    for c in range(num_classes):
        if num_gt[c] == 0:
            aps.append(None)
            continue
        unmatched = {}  # key -> ground truths of class c not matched yet, in input order
        for g in gts:
            if g["label"] == c:
                unmatched.setdefault(key(g), []).append(g)
        ranked = sorted((d for d in dets if d["label"] == c), key=lambda d: -d["score"])  # stable
        flags = []
        for d in ranked:
            candidates = unmatched.get(key(d), [])
            best, best_iou = None, None
            for i, g in enumerate(candidates):
                o = overlap(d, g)
                if best is None or o > best_iou:  # first in input order among equals
                    best, best_iou = i, o
            if best is not None and best_iou >= threshold:
                del candidates[best]  # matched: no later detection can take it
                flags.append(True)
            else:
                flags.append(False)
        aps.append(AP_RULES[ap_rule](flags, num_gt[c]))
    present = [a for a in aps if a is not None]
    return {
        "ap": [None if a is None else float(a) for a in aps],
        "num_gt": num_gt,
        "num_det": num_det,
        "classes_with_gt": len(present),
        "map": float(sum(present, Fraction(0)) / len(present)),
    }


# --------------------------------------------------------------------- input


def exact(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise InputError(f"{what}: expected a finite number, got {x!r}")
    return Fraction(x)


def read_box(b, what):
    if not isinstance(b, list) or len(b) != 4:
        raise InputError(f"{what}: expected a box [x1, y1, x2, y2], got {b!r}")
    return tuple(exact(v, what) for v in b)


def read_label(item, num_classes, what):
    c = item.get("label")
    if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < num_classes:
        raise InputError(f"{what}: expected a label in [0, {num_classes}), got {c!r}")
    return c


def read_frame_boxes(items, num_classes, what):
    out = []
    for i, it in enumerate(items):
        w = f"{what} {i}"
        out.append({"id": i, "video": int(it["video"]), "frame": int(it["frame"]),
                    "label": read_label(it, num_classes, w), "score": exact(it.get("score", 0), w),
                    "box": read_box(it["box"], w)})
    return out


def read_tubes(items, num_classes, what):
    out = []
    for i, it in enumerate(items):
        w = f"{what} {i}"
        boxes = [read_box(b, w) for b in it["boxes"]]
        if not boxes:
            raise InputError(f"{w}: expected a tube with at least one box")
        t0 = int(it["first_frame"])
        out.append({"id": i, "video": int(it["video"]), "label": read_label(it, num_classes, w),
                    "score": exact(it.get("score", 0), w),
                    "by_frame": {t0 + k: b for k, b in enumerate(boxes)}})
    return out


def run_case(case):
    num_classes = case["num_classes"]
    if not isinstance(num_classes, int) or num_classes <= 0:
        raise InputError(f"num_classes: expected a positive integer, got {num_classes!r}")
    sets = {}
    if "frame" in case:
        sets["frame"] = (read_frame_boxes(case["frame"]["detections"], num_classes, "frame detection"),
                         read_frame_boxes(case["frame"]["ground_truth"], num_classes, "frame ground truth"))
    if "video" in case:
        sets["video"] = (read_tubes(case["video"]["detections"], num_classes, "video detection"),
                         read_tubes(case["video"]["ground_truth"], num_classes, "video ground truth"))
    results = []
    cache = {}
    for ev in case["evaluations"]:
        metric, rule, inclusive = ev["metric"], ev["ap_rule"], bool(ev["inclusive_pixels"])
        if metric not in sets:
            raise InputError(f"evaluation of '{metric}': the case has no '{metric}' boxes")
        if rule not in AP_RULES:
            raise InputError(f"ap_rule: expected one of {sorted(AP_RULES)}, got {rule!r}")
        # The threshold as the decimal it was written as: 0.2 -> 1/5 exactly.
        threshold = Fraction(repr(float(ev["iou_threshold"])))
        if not 0 <= threshold <= 1:
            raise InputError(f"iou_threshold: expected a value in [0, 1], got {ev['iou_threshold']!r}")
        dets, gts = sets[metric]
        if not gts:
            raise InputError(f"{metric}: expected at least one ground-truth box or tube, got none")
        if metric == "frame":
            key = lambda b: (b["video"], b["frame"])  # noqa: E731
            geometry = lambda d, g: box_iou(d["box"], g["box"], inclusive)  # noqa: E731
        else:
            key = lambda t: t["video"]  # noqa: E731
            geometry = lambda d, g: tube_iou(d, g, inclusive)  # noqa: E731
        memo = cache.setdefault((metric, inclusive), {})

        def overlap(d, g, memo=memo, geometry=geometry):
            k = (d["id"], g["id"])
            if k not in memo:
                memo[k] = geometry(d, g)
            return memo[k]

        r = evaluate(dets, gts, num_classes, key, overlap, threshold, rule)
        results.append(dict(ev, **r))
    return {"name": case.get("name", ""), "results": results}


def main(argv):
    if len(argv) != 3:
        print("usage: detection_map_reference.py IN.json OUT.json", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    try:
        out = {"cases": [run_case(c) for c in doc["cases"]]}
    except (InputError, KeyError, TypeError, ValueError) as e:
        print(f"detection_map_reference.py: {argv[1]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    with open(argv[2], "w") as f:
        json.dump(out, f, allow_nan=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
