// vididi/train_loop.cpp: the pretraining loop, run directory and resume (see
// train_loop.h).
#include "vididi/train_loop.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/ops.h"
#include "data/loader.h"
#include "vididi/files.h"
#include "vididi/input_upload.h"

namespace vd::vididi {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Two augmented clips per video, T + k frames each, as the config says.
data::ClipConfig clip_config(const TrainConfig& c, int extra_frames) {
  data::ClipConfig clip;
  clip.frames = int(c.clip.frames);
  clip.extra_frames = extra_frames;
  clip.stride = int(c.clip.stride);
  clip.views = 2;
  clip.same_clip = c.same_clip;
  clip.train = true;
  clip.short_video = data::parse_short_video(c.clip.short_video);
  clip.augment.out_h = clip.augment.out_w = int(c.clip.crop);
  clip.augment.scale_min = float(c.scale_min);
  clip.augment.flip_p = float(c.flip_p);
  clip.augment.jitter_p = float(c.jitter_p);
  clip.augment.grayscale_p = float(c.grayscale_p);
  return clip;
}
}  // namespace

int64_t planned_steps(const TrainConfig& c, const data::VideoSource& source, int world) {
  const data::ViewSampler sampler(source, clip_config(c, c.max_order()), c.seed);
  return c.total_steps(sampler.num_videos(), world);
}

TrainResult train(Trainer& trainer, std::shared_ptr<const data::VideoSource> source,
                  const std::string& run_config_text) {
  const TrainConfig& c = trainer.config();
  VD_CHECK(source, "train: expected a dataset, got null");
  dist::Communicator& comm = trainer.comm();
  const int world = comm.world_size();
  c.validate(*source, world);
  data::LoaderConfig lc;
  lc.batch_size = int(c.batch);
  lc.workers = int(c.workers);
  lc.seed = c.seed;
  lc.shuffle = true;
  lc.drop_last = true;
  lc.substitute_on_error = c.load_errors == "substitute";
  lc.shard = comm.rank(), lc.shards = world;  // this rank's slice of each global batch
  const InputTransfer transfer = resolve_input_transfer(c.input_transfer, trainer.device());
  configure_loader(lc, transfer, trainer.device());  // u8 views; pinned buffers on a GPU
  data::Loader loader(source, clip_config(c, trainer.schedule().max_order()), lc);
  const size_t videos = loader.sampler().num_videos(), short_videos = loader.sampler().short_videos();
  if (short_videos > 0)
    trainer.say(std::to_string(short_videos) + " of " + std::to_string(source->size()) +
                " videos are shorter than a clip of " + std::to_string(c.clip.frames + trainer.schedule().max_order()) +
                " frames at stride " + std::to_string(c.clip.stride) + " (short_video = " + c.clip.short_video + ")");
  const int64_t global_batch = c.batch * world;
  const int64_t batches_per_epoch = int64_t(videos) / global_batch;  // the last partial batch is dropped
  if (batches_per_epoch < 1)
    throw UsageError("batch = " + std::to_string(c.batch) + (world > 1 ? " x " + std::to_string(world) + " ranks" : "") +
                         " but only " + std::to_string(videos) + " videos are left for training (short_video = " +
                         c.clip.short_video + ")", "batch");
  const int64_t total = trainer.total_steps();
  VD_CHECK(total == c.total_steps(videos, world),
           "train: the trainer was built for " << total << " steps, the dataset gives " << c.total_steps(videos, world)
                                               << "; hint: build it with planned_steps()");
  TrainResult res;
  res.total_steps = total;
  const bool write = !c.out.empty() && comm.is_root();  // rank 0 alone writes
  // Warnings about the run directory go to stderr, quiet or not.
  auto notice = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const std::string ckpt = c.out + "/checkpoint.vdc", metrics = c.out + "/metrics.jsonl";
  std::string resume = c.resume;
  root_decides(comm, [&] {
    if (c.out.empty()) return;
    remove_stale_temporaries(c.out, notice);
    if (c.resume.empty() && !c.overwrite && (path_exists(ckpt) || path_exists(metrics)))
      throw UsageError("out: " + c.out + " already holds a run (" +
                           (path_exists(ckpt) ? std::string("checkpoint.vdc") : std::string("metrics.jsonl")) +
                           "); expected a new or empty folder; hint: --resume auto continues that run, "
                           "--overwrite true replaces it, or choose another --out",
                       "out", c.out);
  });
  root_decides(comm, [&] {
    if (resume == "auto") resume = !c.out.empty() && path_exists(ckpt) ? ckpt : "";
    if (!resume.empty() && !path_exists(resume))
      throw UsageError("resume: no checkpoint at '" + resume + "'; hint: resume = auto starts fresh when none exists",
                       "resume", resume);
  });
  if (world > 1) {
    comm.broadcast_text(resume, 0);  // rank 0's choice; every rank reads the same file
    std::vector<double> missing{resume.empty() || path_exists(resume) ? 0.0 : 1.0};
    comm.all_reduce_host(missing, dist::Reduce::Sum);
    if (missing[0] > 0)
      throw UsageError("resume: " + std::to_string(int(missing[0])) + " of " + std::to_string(world) +
                           " ranks cannot see " + resume + "; hint: the run directory must be on a file system "
                           "every rank sees (docs/DISTRIBUTED.md)", "resume", resume);
  }
  const int64_t start = resume.empty() ? 0 : trainer.restore(resume);
  if (!resume.empty()) trainer.say("resumed from " + resume + " after step " + std::to_string(start));
  if (write) {
    const PairSchedule& sch = trainer.schedule();
    write_run_files(c.out, run_config_text.empty() ? c.to_text() : run_config_text, c.seed, trainer.device(),
                    "\"schedule\": \"" + sch.str() + "\", \"encoder_passes_per_video\": " +
                        std::to_string(sch.encoder_passes_per_video()) + ", \"parameters\": " +
                        std::to_string(trainer.model().parameter_count()) + ", \"short_videos\": " +
                        std::to_string(short_videos) + ", \"short_video\": \"" + c.clip.short_video +
                        "\", \"world_size\": " + std::to_string(world) + ", \"global_batch\": " +
                        std::to_string(global_batch),
                    start > 0);
    truncate_metrics(metrics, start, [&](const std::string& l) { notice(l + " (repaired)"); });
  }
  res.first_step = start;
  const int64_t end = c.stop_after > 0 ? std::min(total, c.stop_after) : total;

  // Resuming re-enters the epoch at the first batch not yet trained on,
  // without rendering the ones before it.
  int64_t epoch = start / batches_per_epoch;
  loader.start_epoch(epoch, size_t(start % batches_per_epoch));
  // One batch ahead (vididi/input_upload.h): batch s + 1 is issued (on a GPU
  // its copies start on the copy stream) before step s computes.
  InputUploader uploader(trainer.device(), transfer);
  auto issue_next = [&] {
    data::Batch batch;
    if (!loader.next(batch)) {
      loader.start_epoch(++epoch);
      VD_CHECK(loader.next(batch), "train: epoch " << epoch << " produced no batch");
    }
    uploader.issue(std::move(batch));
  };
  if (start < end) issue_next();
  if (start < end)
    trainer.say("training steps " + std::to_string(start + 1) + ".." + std::to_string(end) + " of " +
                std::to_string(total) + " (" + std::to_string(global_batch) + " videos each, " +
                std::to_string(batches_per_epoch) + " batches per epoch); progress after the first step, then every " +
                std::to_string(c.log_every));

  std::ofstream log;
  if (write) {
    log.open(metrics, std::ios::app | std::ios::binary);
    if (!log) throw UsageError("cannot open " + metrics + " for appending: " + std::strerror(errno), "out", metrics);
  }
  const auto t0 = Clock::now();
  for (int64_t step = start; step < end; ++step) {
    const auto ts = Clock::now();
    if (step + 1 < end) issue_next();
    int64_t batch_epoch = 0;
    const std::vector<Tensor> views = uploader.take(&batch_epoch);
    StepRecord rec = trainer.train_step(views[0], views[1], step);
    rec.epoch = batch_epoch;
    rec.seconds = since(ts);
    res.records.push_back(rec);
    if (write) {
      log << to_json(rec) << "\n" << std::flush;
      if (!log.good()) throw UsageError("cannot write " + metrics + " (disk full?)", "out", metrics);
    }
    const double elapsed = since(t0), done = double(step + 1 - start);
    const double clips_per_s = done * double(global_batch) / std::max(elapsed, 1e-9);
    if ((step + 1) % c.log_every == 0 || step == start || step + 1 == end)
      trainer.say(progress_line(rec, total, clips_per_s, elapsed / done * double(total - step - 1)));
    if (!c.out.empty() && c.checkpoint_every > 0 && (step + 1) % c.checkpoint_every == 0 && step + 1 < end)
      trainer.save(ckpt, step + 1);  // rank 0 writes; every rank records it as the last good one
  }
  res.seconds = since(t0);
  res.steps_done = std::max(start, end);
  res.finished = res.steps_done >= total;
  res.clips_per_s = double(res.steps_done - start) * double(global_batch) / std::max(res.seconds, 1e-9);
  if (!c.out.empty()) trainer.save(ckpt, res.steps_done);
  if (write) {
    log.close();
    if (log.fail()) throw UsageError("cannot write " + metrics + " (closing failed; disk full?)", "out", metrics);
    plot_losses(c.out + "/loss.png", read_metrics(metrics));
    trainer.say("run directory " + c.out + ": config.txt run.json metrics.jsonl loss.png checkpoint.vdc");
  }
  res.checkpoint = trainer.last_checkpoint();
  std::vector<double> substituted{double(loader.substituted())};
  comm.all_reduce_host(substituted, dist::Reduce::Sum);  // every rank's clips
  res.substituted = size_t(substituted[0]);
  if (res.substituted > 0)
    trainer.say(std::to_string(res.substituted) + " training clips were rendered from a substitute video (load_errors = "
                "substitute); the last failure: " +
                (loader.last_substituted_error().empty() ? std::string("on another rank")
                                                         : loader.last_substituted_error()));
  return res;
}

}  // namespace vd::vididi
