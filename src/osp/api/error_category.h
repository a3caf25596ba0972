#pragma once
// How the library API (include/osp/pipeline.h) sorts its errors into categories: every failure
// leaves the API as an osp::Error; CategorizedError carries the category where the API knows it
// (the stage that failed decides: a request's fields are bad input, the model's files bad files).
#include <exception>
#include <string>

#include "osp/pipeline.h"

namespace osp::api {

class CategorizedError : public Error {
 public:
  CategorizedError(ErrorCategory category, const std::string& message) : Error(message), category_(category) {}
  ErrorCategory category() const { return category_; }

 private:
  ErrorCategory category_;
};

// Runs `work`; any exception leaves as a CategorizedError: osp::Error as `category` (unless it is
// already categorized), std::bad_alloc as kOutOfMemory, anything else (LibTorch, std) as kInternal.
template <typename Work>
auto with_category(ErrorCategory category, Work&& work) -> decltype(work());

[[noreturn]] void rethrow_categorized(std::exception_ptr error, ErrorCategory category);

template <typename Work>
auto with_category(ErrorCategory category, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (...) {
    rethrow_categorized(std::current_exception(), category);
  }
}

// The kCancelled error a cancelled request ends with.
[[noreturn]] void throw_cancelled(const std::string& stage);

}  // namespace osp::api
