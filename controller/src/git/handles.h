#pragma once

#include <git2.h>

#include <memory>

namespace sluice::git {

// RAII for libgit2 handles: std::unique_ptr with the matching free function.
template <auto Fn>
struct GitFree {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

using RepoPtr = std::unique_ptr<git_repository, GitFree<&git_repository_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitFree<&git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitFree<&git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, GitFree<&git_tree_entry_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitFree<&git_blob_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitFree<&git_reference_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitFree<&git_remote_free>>;
using DiffPtr = std::unique_ptr<git_diff, GitFree<&git_diff_free>>;
using NotePtr = std::unique_ptr<git_note, GitFree<&git_note_free>>;
using NoteIteratorPtr = std::unique_ptr<git_note_iterator, GitFree<&git_note_iterator_free>>;
using SignaturePtr = std::unique_ptr<git_signature, GitFree<&git_signature_free>>;
using IndexPtr = std::unique_ptr<git_index, GitFree<&git_index_free>>;
using TreeBuilderPtr = std::unique_ptr<git_treebuilder, GitFree<&git_treebuilder_free>>;
using RevwalkPtr = std::unique_ptr<git_revwalk, GitFree<&git_revwalk_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitFree<&git_object_free>>;
using ReferenceIteratorPtr =
    std::unique_ptr<git_reference_iterator, GitFree<&git_reference_iterator_free>>;

// git_buf holder: disposes the buffer on scope exit. Not copyable.
class Buf {
 public:
  Buf() = default;
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { git_buf_dispose(&buf_); }
  git_buf* get() { return &buf_; }
  const char* data() const { return buf_.ptr ? buf_.ptr : ""; }
  size_t size() const { return buf_.size; }

 private:
  git_buf buf_ = GIT_BUF_INIT;
};

}  // namespace sluice::git
