// The allocator's side of CUDA graph capture (cuda/allocator.cpp), for
// cuda/graph.cpp only: between graph_pool_begin() and graph_pool_end() the
// calling thread's allocations come from the graph pool and never from
// cudaMalloc; graph_pool_graphs(+1/-1) counts the instantiated graphs, and
// while one lives empty_cache() keeps the pool's free blocks;
// graph_pool_reclaim() returns them when none lives. Private to cuda/.
#pragma once

namespace vd::cuda {

void graph_pool_begin();
void graph_pool_end();
void graph_pool_graphs(int delta);
// With no graph alive (a capture failed, or every graph was destroyed), the
// pool's free blocks go back to the ordinary free list.
void graph_pool_reclaim();

}  // namespace vd::cuda
