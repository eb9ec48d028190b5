// vididi/cli/cmd_detect.cpp: `vididi detect`, action detection with a
// pretrained (or random) encoder (docs/PROTOCOLS.md "Detection"): keyframe
// clips, the last feature map pooled over time, RoIAlign per box, a linear
// or MLP head trained on the train split's ground-truth boxes (frozen
// encoder with cached RoI features by default), test boxes from the ground
// truth or a detections file; frame-mAP@0.5 and, for tube sets, video-mAP
// at 0.2 and 0.5. The run directory holds config.txt, detection.json,
// report.md, frame_ap.png (video_ap_*.png) and keyframes.png. Not here:
// the protocol (vididi/eval/detection_eval.h) or the readers (data/).
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/detect_data.h"
#include "vididi/cli/detect_outputs.h"
#include "vididi/config/device.h"
#include "vididi/files.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

namespace {
const auto pct = percent_or_na;
}  // namespace

// The mAP table of one evaluation (frame-mAP, then video-mAP per IoU).
std::string detection_table(const eval::DetectionEvaluation& e, const std::string& name) {
  std::vector<std::string> header{"encoder", "frame-mAP@0.5"};
  std::vector<std::string> row{name, pct(e.frame.map)};
  for (const auto& [t, r] : e.video) {
    std::ostringstream h;
    h << "video-mAP@" << t;
    header.push_back(h.str());
    row.push_back(pct(r.map));
  }
  return markdown_table(header, {row});
}

int cmd_detect(const std::vector<std::string>& args, std::ostream& out) {
  DetectDataSpec d;
  EncoderInput enc;
  std::string device = "auto", precision = "fp32", head = "linear", out_dir, ap = "voc", iou_pixels = "auto", name;
  vididi::ClipSpec clip;
  clip.frames = 8;
  eval::DetectionEvalOptions o;
  eval::DetectionOptions& det = o.detector;
  int64_t pictures = 8, hidden = 512;
  uint64_t seed = 0;
  Settings s;
  detect_data_keys(s, d);
  encoder_keys(s, enc);
  vididi::device_keys(s, device, precision);
  s.add("frames", clip.frames, "T: frames per keyframe clip, centred on the keyframe (clamped at the video's ends)")
      .range(1, 4096);
  s.add("stride", clip.stride, "frame step within a clip").range(1, 1024);
  s.add("crop", clip.crop, "the input frames' short side: frames are resized whole (aspect kept, no crop, so every "
                           "box is seen); the checkpoint's crop by default").range(8, 4096);
  s.add("head", head, "linear, or mlp (Linear-ReLU-Linear of --hidden)").choices({"linear", "mlp"});
  s.add("hidden", hidden, "mlp: hidden width").range(1, 1 << 20);
  s.add("roi_size", det.roi_size, "RoIAlign bins per side (then the maximum over the bins)").range(1, 64);
  s.add("sampling_ratio", det.sampling_ratio, "RoIAlign samples per bin side (0 = adaptive)").range(0, 64);
  s.add("finetune", det.finetune, "train the encoder with the head (default: frozen encoder, cached RoI features)");
  s.add("batch", det.batch, "keyframe clips per encoder pass (fine-tuning: per step)").range(1, 1 << 20);
  s.add("workers", det.workers, "threads loading clips (0 = one per core)").range(0, 1024);
  head_train_keys(s, det.train);
  s.add("dropout", det.train.dropout, "minibatch: dropout on the RoI features before the head").range(0, 0.99);
  s.add("seed", seed, "seed of a random-init encoder, the head's init and the data order");
  s.add("test_boxes", o.test_boxes, "boxes scored at test time: gt (the test keyframes' ground truth) or file "
                                    "(--boxes_file, AVA's person-detection CSV format)").choices({"gt", "file"});
  s.add("boxes_file", o.boxes_file, "test_boxes = file: video_id,time,x1,y1,x2,y2,action_id,score rows, corners in "
                                    "[0, 1], time = AVA timestamp or 1-based frame (docs/PROTOCOLS.md)").path();
  s.add("min_box_score", o.min_box_score, "test_boxes = file: boxes below this detector score are dropped").range(0, 1);
  s.add("link_iou", o.link_iou, "tube sets: IoU with a tube's last box that continues it (docs/PROTOCOLS.md)")
      .range(0, 1);
  s.add("ap", ap, "AP rule: voc (VOC2010+ all points) or trapezoid (ACT's pr_to_ap)").choices({"voc", "trapezoid"});
  s.add("iou_pixels", iou_pixels, "box areas: auto (inclusive integer pixels for tube sets, as ACT; continuous "
                                  "otherwise), continuous or inclusive").choices({"auto", "continuous", "inclusive"});
  s.add("pictures", pictures, "test keyframes drawn in keyframes.png (0 = none)").range(0, 64);
  s.add("name", name, "row label in the table (default: the checkpoint or 'random')");
  s.add("out", out_dir, "run directory (empty = print only)").path();
  const char* summary =
      "Action detection (docs/PROTOCOLS.md): keyframe clips, the encoder's last feature map pooled over time,\n"
      "RoIAlign per box, a linear or MLP head on the train boxes (frozen encoder by default); frame-mAP@0.5\n"
      "on ground-truth or detected test boxes and, for tube sets, video-mAP@0.2/0.5 of linked tubes.";
  if (parse_or_help(s, args, "detect", summary, out)) return 0;
  if (o.test_boxes == "file" && o.boxes_file.empty())
    throw UsageError("test_boxes = file needs --boxes_file (a CSV of detections)", "boxes_file");
  if (det.finetune && det.train.solver == "lbfgs") {
    if (s.given("solver"))
      throw UsageError("finetune = true trains by minibatches; solver = lbfgs is for frozen features; hint: give "
                       "--solver minibatch", "solver", s.key("solver").origin());
    det.train.solver = "minibatch";
    out << "note: finetune trains by minibatches (solver = minibatch, schedule " << det.train.schedule << ")\n";
  }
  det.hidden = head == "linear" ? 0 : hidden;
  o.ap_rule = ap == "voc" ? eval::ApRule::VocAllPoints : eval::ApRule::Trapezoid;
  o.time = detection_time(d);
  o.keyframe_stride = int(d.test_keyframe_stride);
  std::string note;
  require_one_process("detect");
  det.train.device = vididi::resolve_device(device, precision, &note);
  if (!note.empty()) out << note << "\n";
  det.train.seed = seed;

  data::DetectionSet set = open_detection_set(d, out);
  if (iou_pixels != "auto") set.inclusive_pixels = iou_pixels == "inclusive";
  auto encoder = build_encoder(s, enc, clip, det.train.device, seed, 0, out);
  det.frames = int(clip.frames), det.stride = int(clip.stride), det.short_side = int(clip.crop);
  det.log = [&](const std::string& line) { out << line << "\n" << std::flush; };
  out << "detection: " << (det.finetune ? "fine-tuning" : "frozen") << " " << enc.model.encoder << ", " << head
      << " head, clips of " << det.frames << " frames (stride " << det.stride << "), short side " << det.short_side
      << ", RoIAlign " << det.roi_size << "x" << det.roi_size << ", on " << det.train.device.str() << "\n" << std::flush;
  eval::DetectionEvaluation e = eval::evaluate_detection(*encoder, set, o);

  if (name.empty()) name = enc.checkpoint.empty() ? "random" : enc.checkpoint;
  const std::string table = detection_table(e, name);
  std::ostringstream info;
  info << "Test boxes: " << e.boxes_source << "; " << e.test_keyframes << " test keyframes, " << e.scored_boxes
       << " boxes scored";
  if (o.test_boxes == "file") info << ", " << e.file_boxes_dropped << " file boxes dropped (score or not a keyframe)";
  info << ". Training: " << e.training.keyframes << " keyframes, " << e.training.boxes << " ground-truth boxes, "
       << e.training.head.epochs_used() << (det.train.solver == "lbfgs" ? " L-BFGS iterations" : " epochs") << " ("
       << e.training.head.stop_reason << ")";
  if (set.has_tubes) info << ". Linked tubes: " << e.tubes.size() << " (link IoU " << o.link_iou << ")";
  info << ".\n";
  out << "\n" << table << "\n" << info.str();
  if (out_dir.empty()) return 0;
  vididi::make_dirs(out_dir);
  std::vector<std::pair<std::string, std::string>> images = write_ap_bars(out_dir, e, set);
  if (pictures > 0 && write_keyframe_picture(out_dir + "/keyframes.png", e, set, int(pictures)))
    images.push_back({"test keyframes: ground truth (green) and scored boxes (red)", "keyframes.png"});
  std::ostringstream results;
  results << "Detection on " << detect_data_description(d, set) << " (percent; "
          << (set.inclusive_pixels ? "inclusive-pixel" : "continuous") << " box areas, "
          << (ap == "voc" ? "VOC2010+ all-points AP" : "ACT's trapezoid AP") << "):\n\n"
          << table << "\n" << info.str() << "\nPer class:\n\n" << per_class_table(e, set);
  out << "wrote "
      << write_eval_run(out_dir, s, "vididi detect", command_line("detect", args), "detection.json",
                        eval::detection_json(e, set), results.str(), images)
      << "\n";
  return 0;
}

}  // namespace vd::cli
