/// The commit this binary was built from, for `kuvert --version`. `make
/// package` writes the commit here for its build and puts this file back
/// after; any other build says it came from a source tree.
enum BuildCommit {
    static let value = "unknown (built from a source tree)"
}
