/// The version of this build, reported by every role's `/version` and by `todo --version`.
public enum BuildInfo {
    /// The chart's appVersion in a plain `swift build`; the Dockerfile writes its `VERSION`
    /// build argument here before it builds (scripts/release.sh passes the git tag's version),
    /// so that the binary, the image and the release tarball say the same.
    public static let version = "0.1.0"
}
