// osp: the single command-line tool of OSP-Next. Every failure the user can cause ends as
// "error: …" on stderr and exit code 1.
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "osp/core/cpu_block_cache.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/passive_openmp.h"
#include "osp/core/runtime.h"

namespace osp::cli {

void apply_global_options(const GlobalOptions& global) {
  log::set_level(global.log_level);
  set_threads(global.threads);
}

namespace {

int report(const char* message) {
  std::fprintf(stderr, "error: %s\n", message);
  return 1;
}

// LibTorch's messages carry a C++ backtrace after the first line; the user needs only the first.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace
}  // namespace osp::cli

int main(int argc, char** argv) {
  osp::detail::prefer_passive_openmp_waits(argv);
  osp::install_cpu_block_cache(osp::default_cpu_block_cache_bytes());
  using namespace osp::cli;
  CLI::App app{"OSP-Next: sparse text-to-video diffusion (Wan 2.1 DiT, Skiparse-2D, HiF8)", "osp"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand too
  app.set_version_flag("--version", "osp 0.1.0");
  GlobalOptions global;
  app.add_option("--threads", global.threads, "Intra-op CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")->capture_default_str();

  register_info(app, global);
  register_convert(app, global);
  register_dit_forward(app, global);
  register_bench(app, global);
  register_text_encode(app, global);
  register_vae(app, global);
  register_quantize(app, global);
  register_generate(app, global);
  register_init_bundle(app, global);
  register_data(app, global);
  register_train(app, global);
  register_eval(app, global);
  register_lora(app, global);
  register_rl(app, global);
  register_serve(app, global);
  register_plan(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (see osp --help)\n", e.what());
    return 1;
  } catch (const osp::Error& e) {
    return report(e.what());
  } catch (const c10::Error& e) {
    return report(first_line(e.what_without_backtrace()).c_str());
  } catch (const std::exception& e) {
    return report(e.what());
  }
  return 0;
}
