#pragma once
// GET / (docs/serve.md "Web page"): one self-contained HTML page — no CDN, no build step — with
// the request form (the model's defaults filled in), submission, a live progress bar with the
// latent preview, the video player when done, the job history with cancel and delete, and each
// error shown next to its field. `/?prompt=…&steps=…&autosubmit=1` fills the form and submits it
// (links, and the headless-browser test).
namespace osp::serve {

extern const char* const kWebPage;

}  // namespace osp::serve
