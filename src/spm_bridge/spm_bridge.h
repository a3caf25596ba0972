// C interface of libosp_spm, the SentencePiece bridge (docs/design.md "Platform pitfalls"): Debian's
// libsentencepiece carries its own protobuf-lite and crashes at start-up in a process that also
// loads LibTorch's libprotobuf. This small shared library is the only code that links SentencePiece;
// the engine opens it in a link namespace of its own (dlmopen; models/t5/spm_library.h) so its
// protobuf symbols never meet LibTorch's. Plain C types only: no C++ object crosses the
// boundary, and every error comes back as text in a caller-supplied buffer.
#ifndef OSP_SPM_BRIDGE_H_
#define OSP_SPM_BRIDGE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the loader refuses a bridge of another version.
#define OSP_SPM_ABI_VERSION 1

// The library is built with hidden visibility: only these entry points are exported.
#if defined(__GNUC__)
#define OSP_SPM_API __attribute__((visibility("default")))
#else
#define OSP_SPM_API
#endif

typedef struct osp_spm_model osp_spm_model;

OSP_SPM_API int osp_spm_abi_version(void);

// Loads a SentencePiece model file (spiece.model). NULL on failure, with a message in `error`.
OSP_SPM_API osp_spm_model* osp_spm_load(const char* path, char* error, size_t error_size);
OSP_SPM_API void osp_spm_free(osp_spm_model* model);

// Number of pieces of the model (ids 0 .. size-1).
OSP_SPM_API int32_t osp_spm_vocab_size(const osp_spm_model* model);

// Encodes UTF-8 `text` (`length` bytes) to piece ids. Returns the number of ids, writing at most
// `capacity` of them into `ids` (call again with a larger buffer when the count exceeds it), or -1
// with a message in `error`.
OSP_SPM_API int64_t osp_spm_encode(const osp_spm_model* model, const char* text, size_t length, int32_t* ids, size_t capacity,
                       char* error, size_t error_size);

// The piece of `id` as UTF-8; returns its byte length (copying at most `capacity` bytes into
// `piece`), or -1 for an id outside the vocabulary.
OSP_SPM_API int64_t osp_spm_id_to_piece(const osp_spm_model* model, int32_t id, char* piece, size_t capacity);

// The id of `piece` (the unknown id when the model has no such piece).
OSP_SPM_API int32_t osp_spm_piece_to_id(const osp_spm_model* model, const char* piece);

// Trains a model with SentencePiece's trainer from spm_train style arguments
// ("--input=corpus.txt --model_prefix=m --vocab_size=100 ..."). 0 on success, else -1 with a
// message in `error`.
OSP_SPM_API int osp_spm_train(const char* arguments, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif  // OSP_SPM_BRIDGE_H_
