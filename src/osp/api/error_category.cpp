#include "osp/api/error_category.h"

#include <new>

namespace osp {

ErrorCategory category_of(const Error& error) {
  const auto* categorized = dynamic_cast<const api::CategorizedError*>(&error);
  return categorized != nullptr ? categorized->category() : ErrorCategory::kBadInput;
}

const char* category_name(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kBadInput: return "bad_input";
    case ErrorCategory::kBadFile: return "bad_file";
    case ErrorCategory::kUnsupported: return "unsupported";
    case ErrorCategory::kOutOfMemory: return "out_of_memory";
    case ErrorCategory::kCancelled: return "cancelled";
    case ErrorCategory::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace osp

namespace osp::api {

void rethrow_categorized(std::exception_ptr error, ErrorCategory category) {
  try {
    std::rethrow_exception(error);
  } catch (const CategorizedError&) {
    throw;
  } catch (const Error& e) {
    throw CategorizedError(category, e.what());
  } catch (const std::bad_alloc&) {
    throw CategorizedError(ErrorCategory::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw CategorizedError(ErrorCategory::kInternal, what.substr(0, what.find('\n')));
  } catch (...) {
    throw CategorizedError(ErrorCategory::kInternal, "unknown error");
  }
}

void throw_cancelled(const std::string& stage) {
  throw CategorizedError(ErrorCategory::kCancelled, "cancelled during " + stage);
}

}  // namespace osp::api
