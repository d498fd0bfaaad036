# The data-mesher daemon and CLI, built with nixpkgs' npm builder from
# package-lock.json.
#
# Dependencies come from the lock file through importNpmLock's npmConfigHook, so no
# npmDepsHash has to be computed: every tarball is a fixed-output derivation whose
# hash is the lock's own `integrity`. The project's lock file is written without
# `resolved` URLs (npm's omit-lockfile-registry-resolved), so the URL of each
# tarball is not known here: by default each one is fetched with `npm pack
# name@version` against npm's configured registry (NPM_CONFIG_REGISTRY is passed
# through to the fetcher from the Nix daemon's environment), and Nix checks the
# result against the lock's integrity. Pass `npmRegistry = "https://<registry>"`
# (e.g. with .override) to fetch plain tarball URLs with fetchurl instead.
{
  lib,
  stdenv,
  stdenvNoCC,
  buildNpmPackage,
  importNpmLock,
  nodejs_22,
  fetchurl,
  runCommand,
  cacert,
  autoPatchelfHook,
  # Node 22 (LTS): nixpkgs marks nodejs_20 insecure since its end of life, and
  # @chainsafe/libp2p-quic declares node >= 22. The daemon also runs on node 20.
  nodejs ? nodejs_22,
  npmRegistry ? null,
  # the lock file (a parameter for tests/nix/package-platforms.test.ts)
  packageLockFile ? ../package-lock.json,
}:
let
  root = ../.;
  packageJSON = lib.importJSON (root + "/package.json");
  packageLock = lib.importJSON packageLockFile;

  # "node_modules/a/node_modules/@s/b" -> "@s/b"
  nameOfPath =
    path:
    let
      parts = lib.splitString "node_modules/" path;
    in
    lib.removeSuffix "/" (lib.last parts);

  storeSafe = lib.replaceStrings [ "@" "/" ] [ "" "-" ];

  fetchWithNpm =
    name: module:
    stdenvNoCC.mkDerivation {
      name = "npm-${storeSafe name}-${module.version}.tgz";
      nativeBuildInputs = [ nodejs ];
      outputHash = module.integrity;
      outputHashMode = "flat";
      impureEnvVars = lib.fetchers.proxyImpureEnvVars ++ [
        "NPM_CONFIG_REGISTRY"
        "npm_config_registry"
      ];
      NODE_EXTRA_CA_CERTS = "${cacert}/etc/ssl/certs/ca-bundle.crt";
      buildCommand = ''
        export HOME="$TMPDIR" npm_config_cache="$TMPDIR/cache" npm_config_update_notifier=false
        mkdir "$TMPDIR/pack"
        npm pack --silent --pack-destination "$TMPDIR/pack" "${name}@${module.version}" >/dev/null
        mv "$TMPDIR"/pack/*.tgz "$out"
      '';
    };

  fetchFromRegistry =
    name: module:
    fetchurl {
      url = "${lib.removeSuffix "/" npmRegistry}/${name}/-/${lib.last (lib.splitString "/" name)}-${module.version}.tgz";
      hash = module.integrity;
    };

  fetchModule =
    path: module:
    if module ? resolved && lib.hasPrefix "http" module.resolved then
      fetchurl {
        url = module.resolved;
        hash = module.integrity;
      }
    else if npmRegistry != null then
      fetchFromRegistry (nameOfPath path) module
    else
      fetchWithNpm (nameOfPath path) module;

  # npm's names for this platform, to tell which optional per-platform packages
  # (native modules such as @chainsafe/libp2p-quic-linux-x64-gnu) it installs here
  nodePlatform =
    {
      x86_64-linux = {
        os = "linux";
        cpu = "x64";
        libc = "glibc";
      };
      aarch64-linux = {
        os = "linux";
        cpu = "arm64";
        libc = "glibc";
      };
      # no libc on darwin: a package that names one is for Linux
      aarch64-darwin = {
        os = "darwin";
        cpu = "arm64";
        libc = null;
      };
      x86_64-darwin = {
        os = "darwin";
        cpu = "x64";
        libc = null;
      };
    }
    .${stdenv.hostPlatform.system} or null;
  # an npm os/cpu/libc list admits a value when it names it, or only excludes others
  admits =
    list: v:
    v != null
    && (lib.elem v list || (lib.all (lib.hasPrefix "!") list && !(lib.elem "!${v}" list)));
  forThisPlatform =
    module:
    nodePlatform == null
    || lib.all (k: !(module ? ${k}) || admits module.${k} nodePlatform.${k}) [
      "os"
      "cpu"
      "libc"
    ];

  # Same shape as importNpmLock's output: package.json and package-lock.json whose
  # registry entries point at store paths, for importNpmLock.npmConfigHook. An
  # optional package for another platform is left as it is (npm skips it here), so
  # its tarball is never fetched.
  isRegistryEntry =
    path: module:
    path != ""
    && !(module.link or false)
    && module ? integrity
    && (!(module.optional or false) || forThisPlatform module);
  lockedPackages = lib.mapAttrs (
    path: module:
    if isRegistryEntry path module then
      removeAttrs module [ "funding" ] // { resolved = "file:${fetchModule path module}"; }
    else
      module
  ) packageLock.packages;
  resolvedOf = name: lockedPackages."node_modules/${name}".resolved;
  packageJSON' =
    packageJSON
    // lib.optionalAttrs (packageJSON ? dependencies) {
      dependencies = lib.mapAttrs (name: _: resolvedOf name) packageJSON.dependencies;
    }
    // lib.optionalAttrs (packageJSON ? devDependencies) {
      devDependencies = lib.mapAttrs (name: _: resolvedOf name) packageJSON.devDependencies;
    };

  npmDeps =
    runCommand "data-mesher-${packageJSON.version}-npm-deps"
      {
        package = builtins.toJSON packageJSON';
        packageLock = builtins.toJSON (packageLock // { packages = lockedPackages; });
        passAsFile = [
          "package"
          "packageLock"
        ];
      }
      ''
        mkdir $out
        cp "$packagePath" $out/package.json
        cp "$packageLockPath" $out/package-lock.json
      '';

  # @chainsafe/libp2p-quic loads a prebuilt N-API module from an optional,
  # per-platform package. It is only there if package-lock.json pins the package
  # for this platform by its integrity (an entry without one cannot be fetched in
  # the sandbox; npm then leaves the optional package out and QUIC cannot load).
  quicTriple =
    {
      x86_64-linux = "linux-x64-gnu";
      aarch64-linux = "linux-arm64-gnu";
      aarch64-darwin = "darwin-arm64";
      x86_64-darwin = "darwin-x64";
    }
    .${stdenv.hostPlatform.system} or null;
  hasQuic =
    quicTriple != null
    && (packageLock.packages."node_modules/@chainsafe/libp2p-quic-${quicTriple}" or { }) ? integrity;
in
buildNpmPackage {
  pname = "data-mesher";
  inherit (packageJSON) version;
  inherit nodejs npmDeps;

  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/package.json")
      (root + "/package-lock.json")
      (lib.fileset.maybeMissing (root + "/tsconfig.json"))
      (root + "/src")
      (lib.fileset.maybeMissing (root + "/proto"))
      # `npm run build` = tsc, then this script bundles the daemon and CLI into one
      # file, dist/bundle/data-mesher.mjs, which package.json's bin runs (issue 22)
      (root + "/scripts/bundle.ts")
    ];
  };

  npmConfigHook = importNpmLock.npmConfigHook;
  npmBuildScript = "build";
  # No dependency needs its install script (the QUIC module ships prebuilt
  # binaries; protobufjs' script is for development only; esbuild, a build-time
  # devDependency, finds its binary in its per-platform optional package without
  # its install script).
  npmRebuildFlags = [ "--ignore-scripts" ];

  # The prebuilt .node modules link libgcc_s (Linux; on darwin they link only the
  # system's libraries).
  nativeBuildInputs = lib.optionals stdenv.hostPlatform.isLinux [ autoPatchelfHook ];
  buildInputs = lib.optionals stdenv.hostPlatform.isLinux [ stdenv.cc.cc.lib ];

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    test -x $out/bin/data-mesher
    test -d $out/lib/node_modules/data-mesher/dist
    # the bin is the bundle (dist/bundle/data-mesher.mjs): it must load and answer
    test -f $out/lib/node_modules/data-mesher/dist/bundle/data-mesher.mjs
    $out/bin/data-mesher --help >/dev/null
    ${lib.optionalString hasQuic ''
      # The QUIC transport's native module must load (kept from the optional
      # per-platform package, patched to find libgcc_s).
      (cd $out/lib/node_modules/data-mesher && ${nodejs}/bin/node --input-type=module \
        -e "const m = await import('@chainsafe/libp2p-quic'); if (typeof m.quic !== 'function') process.exit(1)")
    ''}
    runHook postInstallCheck
  '';

  passthru = {
    inherit hasQuic npmDeps;
    # lock entries of optional packages for other platforms, not fetched here
    otherPlatformPackages = lib.attrNames (
      lib.filterAttrs (
        path: module: path != "" && module ? integrity && !(isRegistryEntry path module)
      ) packageLock.packages
    );
  };

  meta = {
    description = "Replicates small Ed25519-signed files across a cluster of machines";
    license = lib.licenses.mit;
    mainProgram = "data-mesher";
    # the daemon runs under systemd on Linux; the CLI (signing, `clan vars generate`'s
    # scripts) also on macOS, on TCP unless the lock pins the darwin QUIC module
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
