# This repository's flake.nix outputs, computed with a stand-in nixpkgs (nixpkgs'
# lib plus ./stub-pkgs.nix per system) instead of the locked input, which cannot be
# fetched here. Everything the outputs say (systems, packages and their meta,
# nixosModules, clan.modules, overlays) is the flake's own.
{
  lib,
  # extra attributes of every system's package set
  extraPkgs ? { },
}:
let
  flake = import ../../flake.nix;
  nixpkgs = {
    inherit lib;
    outPath = "/nix/store/00000000000000000000000000000000-nixpkgs";
    legacyPackages = lib.genAttrs lib.systems.flakeExposed (
      system: import ./stub-pkgs.nix { inherit lib system; extra = extraPkgs; }
    );
  };
  outputs = flake.outputs {
    self = outputs // {
      inherit outputs;
      outPath = ../..;
    };
    inherit nixpkgs;
  };
in
outputs
