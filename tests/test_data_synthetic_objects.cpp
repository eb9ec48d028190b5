// tests/test_data_synthetic_objects.cpp: synthetic videos with several
// moving objects (SyntheticConfig::objects): one object is exactly the
// one-object set; each further object has another motion class, and the
// pixels it changes lie inside its own boxes; the detection set gets one
// tube per object.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "data/detection_set.h"
#include "data/error.h"
#include "data/synthetic.h"

using namespace vd::data;

TEST(SyntheticObjects, FurtherObjectsChangeOnlyTheirBoxesAndMoveOtherwise) {
  SyntheticConfig one;
  one.height = one.width = 32, one.frames = 6, one.videos_per_class = 2, one.seed = 5;
  SyntheticConfig three = one;
  three.objects = 3;
  const SyntheticDynamics a(one), b(three);
  for (size_t v = 0; v < a.size(); v += 3) {
    const Clip ca = a.render(v), cb = b.render(v);
    const auto boxes = b.object_boxes(v);
    const std::vector<int> labels = b.object_labels(v);
    ASSERT_EQ(boxes.size(), 3u);
    EXPECT_EQ(boxes[0], a.boxes(v));
    EXPECT_EQ(labels[0], a.label(v));
    EXPECT_EQ(std::set<int>(labels.begin(), labels.end()).size(), 3u) << "motions differ within a video";
    EXPECT_EQ(a.object_boxes(v).size(), 1u);
    for (int t = 0; t < ca.T; ++t)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          bool differs = false;
          for (int ch = 0; ch < 3; ++ch) differs = differs || ca.frame(t)[(y * 32 + x) * 3 + ch] != cb.frame(t)[(y * 32 + x) * 3 + ch];
          if (!differs) continue;
          bool inside = false;  // pixel (x, y) spans [x, x+1) x [y, y+1)
          for (size_t j = 1; j < 3; ++j) {
            const Box& bx = boxes[j][size_t(t)];
            inside = inside || (x + 1 > bx.x1 && x < bx.x2 && y + 1 > bx.y1 && y < bx.y2);
          }
          EXPECT_TRUE(inside) << "video " << v << " frame " << t << " pixel " << x << "," << y;
        }
  }
  SyntheticConfig test = three;
  test.subset = Subset::test;
  const DetectionSet d = synthetic_detection_set(three, test, 2);
  EXPECT_EQ(d.train.tubes.size(), 3 * a.size());
  EXPECT_EQ(d.train.keyframes[0].boxes.size(), 3u);  // frame 0 of video 0: every object
  SyntheticConfig bad = one;
  bad.objects = 11;
  EXPECT_THROW(SyntheticDynamics bad_set(bad), DataError);
}
