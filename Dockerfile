# The todo image: one static Swift binary on distroless. Every role runs this image; the
# command picks the role:
#   todo api       backend REST API, port 8000 (the default command)
#   todo web       web UI, port 3000 (proxies /api to the backend)
#   todo mcp       MCP server, port 8001 (Streamable HTTP at /mcp; talks to the backend API)
#   todo migrate   apply database migrations and exit
#   todo serve     every role in one process (SQLite in /data; set HOST=0.0.0.0)
# Build:  docker build -t todo:latest .      (docs/CONTAINERS.md: roles, variables, sizes)
# No `# syntax=` line on purpose: the built-in BuildKit frontend has everything used here
# (multi-stage, ARG in FROM, RUN --mount=type=cache) and the build needs no registry for it.

# Base images, pinned by tag (pin by digest, @sha256:..., where a registry is reachable).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ICU data. Foundation links all of ICU's data, 34 MB, the largest part of the binary.
# ICU_DATA=server (default) links a copy without what a server never uses: the legacy
# character-set converters (*.cnv), the word-break dictionaries of Chinese, Japanese, Thai,
# Lao, Khmer and Burmese, transliterators, Unicode character names and the language-specific
# sort orders (root and English stay). Locales, time zones, currencies, units and number
# formats all stay. ICU_DATA=full links ICU's data whole. The trimmed copy replaces the data
# member of this stage's lib_FoundationICU.a. This layer depends only on the toolchain, so
# it is built once. (docs/CONTAINERS.md, "Where the bytes go".)
ARG ICU_DATA=server
WORKDIR /tmp/icu
RUN set -eu; \
    if [ "$ICU_DATA" = full ]; then exit 0; fi; \
    [ "$ICU_DATA" = server ] || { echo "ICU_DATA must be server or full" >&2; exit 1; }; \
    archive="$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift_static/linux/lib_FoundationICU.a"; \
    ar x "$archive" icu_packaged_data.cpp.o; \
    symbol=$(nm icu_packaged_data.cpp.o | awk '$3 ~ /^icudt[0-9]+_dat$/ { print $3 }'); \
    [ -n "$symbol" ] || { echo "no icudtNN_dat in $archive: build with ICU_DATA=full" >&2; exit 1; }; \
    objcopy -O binary --only-section='.rodata*' icu_packaged_data.cpp.o icu-full.dat; \
    size=$(printf '%d' "0x$(nm -S icu_packaged_data.cpp.o | awk -v s="$symbol" '$4 == s { print $2 }')"); \
    [ "$(stat -c %s icu-full.dat)" = "$size" ] || { echo "cannot extract $symbol: build with ICU_DATA=full" >&2; exit 1; }; \
    echo "ICU data: $symbol, $size bytes"; \
    perl -e 'local $/; open my $f, "<:raw", $ARGV[0] or die "$ARGV[0]: $!"; my $d = <$f>; \
        die "not ICU common data\n" unless substr($d, 2, 2) eq "\xda\x27" && substr($d, 12, 4) eq "CmnD"; \
        my $hs = unpack "v", $d; my $t = substr $d, $hs; my $n = unpack "V", $t; \
        my @e = map { [unpack "VV", substr $t, 4 + 8 * $_, 8] } 0 .. $n - 1; my (@k, $dropped); \
        for my $i (0 .. $n - 1) { my $name = unpack "Z*", substr $t, $e[$i][0]; \
            my $end = $i + 1 < $n ? $e[$i + 1][1] : length $t; my $item = substr $t, $e[$i][1], $end - $e[$i][1]; \
            if ($name =~ m{$ARGV[2]}) { $dropped += length $item } else { push @k, [$name, $item] } } \
        my $names = join "", map { "$_->[0]\0" } @k; my $at = 4 + 8 * @k + length $names; $at += (16 - $at % 16) % 16; \
        my ($toc, $body, $np) = (pack("V", scalar @k), "", 4 + 8 * @k); \
        for (@k) { $toc .= pack "VV", $np, $at + length $body; $np += 1 + length $_->[0]; $body .= $_->[1] } \
        $toc .= $names; $toc .= "\0" x ((16 - length($toc) % 16) % 16); \
        open my $o, ">:raw", $ARGV[1] or die; print $o substr($d, 0, $hs), $toc, $body; \
        printf "ICU data: kept %d of %d items, dropped %.1f MB\n", scalar @k, $n, $dropped / 1e6' \
        icu-full.dat icudata-server.dat \
        '(\.cnv$|^[^/]+/brkitr/[^/]+\.dict$|^[^/]+/translit/|^[^/]+/unames\.icu$|^[^/]+/coll/(?!(root|res_index)\.res$|ucadata\.icu$|en[._]))'; \
    printf '\t.section .rodata.%s,"a",@progbits\n\t.globl %s\n\t.type %s,@object\n\t.p2align 4\n%s:\n\t.incbin "%s"\n\t.size %s, .-%s\n' \
        "$symbol" "$symbol" "$symbol" "$symbol" /tmp/icu/icudata-server.dat "$symbol" "$symbol" > icudata.s; \
    clang -c -x assembler icudata.s -o icu_packaged_data.cpp.o; \
    ar rs "$archive" icu_packaged_data.cpp.o; \
    rm -f icu_packaged_data.cpp.o icu-full.dat icudata.s icudata-server.dat

WORKDIR /src
# Dependencies in a layer of their own: reused until Package.swift or Package.resolved
# changes, so that a source change never resolves again.
COPY Package.swift Package.resolved* ./
RUN swift package resolve && mv .build /resolved

COPY Sources ./Sources
# The manifest declares the test targets, and SwiftPM refuses a manifest whose target folders
# are missing; the product build compiles none of them.
COPY Tests ./Tests

# .build lives in a BuildKit cache mount (kept by the engine between builds), so a one-line
# change recompiles only what it touches. An empty cache is seeded from the resolve layer's
# checkouts (no second fetch); later, `swift build` itself follows a changed Package.resolved.
# Release build, Swift runtime and Foundation linked statically, stripped. Linked by lld
# with identical-code folding, packed relative relocations (glibc >= 2.36) and no dynamic
# symbol export (-10 MB); the unstripped binary stays in this stage for the size report.
# The binary is always linked anew (a few seconds), as SwiftPM does not see a changed
# library of the toolchain (ICU_DATA).
# VERSION (scripts/release.sh: the git tag's) goes into the binary's BuildInfo, checked as a
# version string first: it is pasted into Swift source.
ARG VERSION=0.1.0
RUN --mount=type=cache,target=/src/.build,id=todo-swift-build \
    set -eu \
 && printf '%s' "$VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$' \
    || { echo "VERSION must look like 1.2.3 or 1.2.3-rc.1, got '$VERSION'" >&2; exit 1; } \
 && sed -i "s/^    public static let version = \".*\"$/    public static let version = \"$VERSION\"/" Sources/TodoCore/BuildInfo.swift \
 && grep -q "version = \"$VERSION\"" Sources/TodoCore/BuildInfo.swift \
 && if [ ! -e .build/workspace-state.json ]; then cp -a /resolved/. .build/; fi \
 && set -- -c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker --icf=safe \
           -Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs \
 && bin="$(swift build "$@" --show-bin-path)" \
 && rm -f "$bin/todo" \
 && swift build "$@" --product todo \
 && mkdir -p /out/rootfs/usr/local/bin /out/rootfs/data \
 && cp "$bin/todo" /out/todo.unstripped \
 && strip --strip-all -o /out/rootfs/usr/local/bin/todo /out/todo.unstripped \
 && chmod 0755 /out/rootfs/usr/local/bin/todo \
 && [ "$(/out/rootfs/usr/local/bin/todo --version)" = "$VERSION" ]

# Shared libraries the binary needs beyond those of the distroless base (glibc, libgcc_s,
# libstdc++, OpenSSL): zlib (HTTP compression), copied from this Debian; and libcurl, which
# Foundation's URLSession (FoundationNetworking, linked because the MCP SDK imports it) is
# built against. No code of this project uses URLSession, so instead of libcurl and its 27
# libraries (11 MB: Kerberos, LDAP, SSH, RTMP, GnuTLS...) the image gets a 10 kB stand-in
# whose every function stops the process with a message saying so. Any other new library
# fails the build here, so that the image never lacks one at run time.
WORKDIR /out
RUN set -eu; \
    zlib=$(ldconfig -p | awk '$1 == "libz.so.1" && !found { print $NF; found = 1 }'); \
    libdir=/out/rootfs/usr/lib/$(basename "$(dirname "$(readlink -f "$zlib")")"); mkdir -p "$libdir"; \
    cp -L "$zlib" "$libdir/libz.so.1"; \
    needed=$(readelf -d todo.unstripped | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); \
    for lib in $needed; do \
        case "$lib" in \
            libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|ld-linux*|libgcc_s.so.*|libstdc++.so.*|libssl.so.3|libcrypto.so.3|libz.so.1|libcurl.so.4) ;; \
            *) echo "error: the binary needs $lib, which the runtime image lacks: add it to this step" >&2; exit 1 ;; \
        esac; \
    done; \
    case "$needed" in *libcurl.so.4*) \
        nm -D --undefined-only todo.unstripped | sed -n 's/^ *U \(curl_[A-Za-z0-9_]*\)@\(CURL_[A-Z0-9_]*\)$/\1 \2/p' | sort -u > curl.symbols; \
        version=$(awk 'NR == 1 { print $2 }' curl.symbols); \
        awk 'BEGIN { print "#include <stdio.h>"; print "#include <stdlib.h>"; \
            print "static void unavailable(const char *name) { fprintf(stderr, \"todo: %s: this image has no libcurl, so URLSession (FoundationNetworking) cannot be used; use AsyncHTTPClient (docs/CONTAINERS.md)\\n\", name); abort(); }" } \
            { printf "void %s(void) { unavailable(\"%s\"); }\n", $1, $1 }' curl.symbols > curl-stub.c; \
        awk -v v="$version" 'BEGIN { print v " {"; print "  global:" } { print "    " $1 ";" } END { print "  local: *;"; print "};" }' curl.symbols > curl-stub.map; \
        clang -shared -fPIC -O2 -o "$libdir/libcurl.so.4" -Wl,-soname,libcurl.so.4 -Wl,--version-script,curl-stub.map curl-stub.c; \
        strip --strip-unneeded "$libdir/libcurl.so.4"; \
        echo "libcurl stand-in: $(wc -l < curl.symbols) functions ($version)";; \
    esac; \
    ls -la "$libdir"

# ---------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime

# The binary and its two extra libraries, owned by root: the app cannot change them.
COPY --from=build /out/rootfs/usr/ /usr/
# SQLite's data directory (todo serve, or todo api without DATABASE_URL). Mount a volume
# here: a new named volume takes this directory's owner (65532) from the image.
COPY --from=build --chown=65532:65532 /out/rootfs/data /data

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="todo" \
      org.opencontainers.image.description="Multi-user Todo system: REST API, web UI, MCP server and migrations in one Swift binary; the command selects the role (api|web|mcp|migrate|serve)." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="docs/CONTAINERS.md" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

# Only non-secret defaults here: AUTH_SECRET and DATABASE_URL come from the environment
# at run time (docker run -e / Compose .env / Kubernetes Secret).
ENV TODO_DATA_DIR=/data

# nonroot of the distroless base, fixed: 65532:65532.
USER 65532:65532
WORKDIR /data

# api 8000, web 3000, mcp 8001
EXPOSE 8000 3000 8001

# No shell or curl in the image: the binary probes its own /healthz (http://127.0.0.1:$PORT,
# PORT defaulting to 8000). Compose and Kubernetes set the URL per role.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/todo", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/todo"]
CMD ["api"]
