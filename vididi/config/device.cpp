// vididi/config/device.cpp: the device and precision resolver (see device.h).
#include "vididi/config/device.h"

#include "core/backend.h"
#include "core/precision.h"
#include "vididi/run_dir.h"

namespace vd::vididi {

void device_keys(config::Settings& s, std::string& device, std::string& precision) {
  s.add("device", device, "auto (cuda when available, else cpu) | cpu | cuda | cuda:N");
  s.add("precision", precision, "GPU math for conv/matmul; the CPU computes in fp32 only")
      .choices({"fp32", "tf32", "bf16"});
}

Device resolve_device(const std::string& setting, const std::string& precision, std::string* note) {
  Device d;
  if (setting == "auto") {
    d = cuda::is_available() ? Device::cuda(0) : Device::cpu();
    if (note)
      *note = d.is_cuda() ? "device auto: using cuda:0 (" + cuda::device_name(0) + ")"
                          : "device auto: no usable CUDA device (" + cuda_versions() + "), using cpu";
  } else {
    try {
      d = Device::parse(setting);
    } catch (const Error&) {
      throw UsageError("bad value for 'device': expected auto, cpu, cuda or cuda:N, got '" + setting + "'", "device");
    }
    if (d.is_cuda() && !cuda::is_available())
      throw UsageError("device = " + setting + " but no GPU is usable (" + cuda_versions() +
                           "); hint: device = cpu or device = auto", "device");
    if (d.is_cuda() && d.index >= cuda::device_count())
      throw UsageError("device = " + setting + ": only " + std::to_string(cuda::device_count()) + " GPU(s) present",
                       "device");
  }
  if (d.is_cpu() && precision != "fp32")
    throw UsageError("precision = " + precision + " needs a GPU, and this command runs on the cpu" +
                         (setting == "auto" ? " (device auto found no GPU)" : "") + "; hint: precision = fp32",
                     "precision");
  if (d.is_cuda()) cuda::set_device(d.index);
  set_precision(parse_precision(precision));
  return d;
}

}  // namespace vd::vididi
