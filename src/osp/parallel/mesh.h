#pragma once
// The device mesh of one run (docs/skiparse.md "SSP mesh"): cfg × dp × skiparse_sp × sp, row-major over
// global ranks. cfg (1 or 2) puts the conditional and unconditional branches of classifier-free
// guidance on two halves of the ranks; dp splits the batch; skiparse_sp (S) splits the P² sub-sequences
// of the sparse blocks (SSP); sp (S_sp) is Ulysses inside sparse blocks ("Ulysses on spatial tiles").
// Full blocks run Ulysses over the whole SP group (S·S_sp ranks) or, when that does not divide the
// heads, over groups of gcd(heads, S·S_sp) ("Ulysses sequence parallelism").
#include <string>
#include <utility>

#include "osp/models/dit/config.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/world.h"

namespace osp::parallel {

struct MeshShape {
  int cfg = 1;
  int dp = 1;
  int ssp = 1;  // skiparse_sp_size, S
  int sp = 1;   // Ulysses degree inside sparse blocks, S_sp
  int size() const { return cfg * dp * ssp * sp; }
  int sequence_parallel() const { return ssp * sp; }  // global SP
  std::string describe() const;                        // "cfg 2 × dp 1 × skiparse_sp 2 × sp 1"
};

struct MeshCoords {
  int cfg = 0, dp = 0, ssp = 0, sp = 0;
};

MeshCoords mesh_coords(const MeshShape& shape, int rank);
int mesh_rank(const MeshShape& shape, const MeshCoords& coords);

// Full-block Ulysses degree ("Ulysses sequence parallelism"): global SP if it divides the heads, else gcd(heads, SP).
int full_block_degree(int heads, int global_sp);

// Checks the mesh against the world and the model before anything runs (osp::Error naming the
// flag): product = world size, cfg ∈ {1, 2}, S ≤ P² and P² % S == 0 ("SSP mesh", sparse models only),
// heads % S_sp == 0 (Ulysses in sparse blocks; for a plain Wan model sp is the Ulysses degree).
void validate_mesh(const MeshShape& shape, int world_size, const dit::DiTConfig& config);

// This rank's groups of the mesh. create() is collective over the world.
struct MeshGroups {
  MeshShape shape;
  MeshCoords coords;
  Communicator ssp;   // same cfg, dp, sp: the SSP group ("SSP mesh")
  Communicator sp;    // same cfg, dp, ssp: Ulysses inside sparse blocks
  Communicator full;  // full-block Ulysses group: consecutive ranks of the SP group
  Communicator cfg;   // same dp, ssp, sp: the two guidance branches
  Communicator dp;    // same cfg, ssp, sp: the batch split
  Communicator world;

  static MeshGroups create(World& world, const MeshShape& shape, int heads);
};

}  // namespace osp::parallel
