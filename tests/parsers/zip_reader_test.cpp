// Zip central-directory reading on hand-built archives (LibTorch-free, ASan + UBSan).
#include "osp/io/zip_reader.h"

#include <gtest/gtest.h>

#include "byte_builder.h"

namespace osp::io {
namespace {

using test::expect_error_containing;
using test::make_zip;
using test::u8p;

ZipReader open(const std::string& bytes) { return ZipReader(u8p(bytes), bytes.size(), "a.pth"); }

const std::vector<test::ZipFile> kFiles = {{"archive/data.pkl", "pickle bytes"},
                                           {"archive/data/0", std::string(64, '\x07')},
                                           {"archive/empty", ""},
                                           {"archive/packed", std::string(300, 'z') + "tail", true}};

void expect_contents(const ZipReader& zip) {
  ASSERT_EQ(zip.entries().size(), kFiles.size());
  for (const auto& f : kFiles) {
    const ZipEntry* e = zip.find(f.name);
    ASSERT_NE(e, nullptr) << f.name;
    EXPECT_EQ(e->size, f.data.size());
    EXPECT_EQ(zip.read(*e), f.data);
    if (!f.deflate) EXPECT_EQ(zip.stored_bytes(*e), f.data);
  }
  EXPECT_EQ(zip.find("archive/absent"), nullptr);
}

TEST(ZipReader, ReadsStoredAndDeflatedEntries) { expect_contents(open(make_zip(kFiles))); }

TEST(ZipReader, ReadsZip64Records) { expect_contents(open(make_zip(kFiles, /*zip64=*/true))); }

TEST(ZipReader, ReadsArchivesWithComments) {
  expect_contents(open(make_zip(kFiles, false, "a comment with PK\x05\x06 inside")));
}

TEST(ZipReader, CompressedEntryHasNoStoredBytes) {
  const std::string bytes = make_zip(kFiles);
  const ZipReader zip = open(bytes);
  expect_error_containing([&] { zip.stored_bytes(*zip.find("archive/packed")); }, "compressed");
}

TEST(ZipReader, RefusesEncryptedEntries) {
  expect_error_containing([] { open(make_zip({{"x", "secret", false, 0x0001}})); }, "encrypted");
}

TEST(ZipReader, RefusesDuplicateNames) {
  expect_error_containing([] { open(make_zip({{"x", "1"}, {"x", "2"}})); }, "'x' appears twice");
}

TEST(ZipReader, RefusesCommentPastTheEnd) {
  std::string bytes = make_zip(kFiles);
  bytes[bytes.size() - 2] = 10;  // claims a 10-byte comment that is not there
  expect_error_containing([&] { open(bytes); }, "comment length");
}

TEST(ZipReader, RefusesEntriesOverlappingTheDirectory) {
  std::string bytes = make_zip({{"x", "abcd"}});
  // Central header's compressed and uncompressed sizes: make the entry run into the directory.
  const size_t central = bytes.find(std::string("PK\x01\x02", 4));
  bytes.replace(central + 20, 8, test::le(1000, 4) + test::le(1000, 4));
  expect_error_containing([&] { open(bytes); }, "overlaps the central directory");
}

TEST(ZipReader, RefusesCorruptDeflateData) {
  std::string bytes = make_zip({{"x", std::string(200, 'q'), true}});
  const size_t data = 30 + 1;
  bytes[data + 2] ^= 0x55;
  expect_error_containing([&] {
    const ZipReader zip = open(bytes);
    zip.read(zip.entries()[0]);
  }, "zip entry 'x'");
}

TEST(ZipReader, RefusesNonZipInput) {
  expect_error_containing([] { open("not a zip at all, just some text that is long enough"); }, "not a zip archive");
  expect_error_containing([] { open(""); }, "too short");
}

TEST(ZipReader, EveryTruncationIsRefused) {
  test::expect_prefixes_refused(make_zip(kFiles), [](const std::string& b) { open(b); });
  test::expect_prefixes_refused(make_zip(kFiles, true), [](const std::string& b) { open(b); });
}

void open_and_read_all(const std::string& bytes) {
  const ZipReader zip = open(bytes);
  for (const ZipEntry& e : zip.entries()) {
    if (e.size < (1u << 20)) zip.read(e);
  }
}

TEST(ZipReader, RandomMutationsNeverCrash) {
  EXPECT_GT(test::fuzz_mutations(make_zip(kFiles), 20000, 77, open_and_read_all), 0);
  test::fuzz_mutations(make_zip(kFiles, true), 20000, 78, open_and_read_all);
}

}  // namespace
}  // namespace osp::io
