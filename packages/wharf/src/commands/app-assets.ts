/**
 * Asset bridging between app versions (Kamal's Commands::App::Assets): the
 * new image's asset directory is copied out to
 * `.kamal/apps/<app>/assets/extracted/<role>-<version>`, merged both ways with
 * the running version's into `assets/volumes/<role>-<version>` (mounted into
 * the container at asset_path), and older siblings are deleted once the old
 * container has stopped.
 */
import { posix } from 'node:path';
import type { Config, Role } from '../config/index.js';
import { chain, combine, docker, makeDirectory, type Command } from './base.js';

function requireAssetPath(role: Role): string {
  const path = role.assetPath;
  if (path === undefined || path === '') {
    throw new Error(`role ${role.name} has no asset_path; asset commands apply only to roles with one`);
  }
  return path;
}

/** Copy the assets out of the image into `extracted/<role>-<version>`. */
export function extractAssets(config: Config, role: Role): Command {
  const assetContainer = `${role.containerPrefix()}-assets`;
  const extracted = role.assetExtractedDirectory();
  return combine([
    makeDirectory(extracted),
    [...docker('container', 'rm', assetContainer, '2> /dev/null'), '|| true'],
    docker('container', 'create', '--name', assetContainer, config.absoluteImage),
    docker('container', 'cp', '-L', `${assetContainer}:${requireAssetPath(role)}/.`, extracted),
    docker('container', 'rm', assetContainer),
  ]);
}

function copyContents(source: string, destination: string, continueOnError = false): Command {
  return ['cp', '-rnT', source, destination, ...(continueOnError ? ['|| true'] : [])];
}

/** Fill the new version's asset volume; with an old version running, give each the other's files (never overwriting). */
export function syncAssetVolumes(config: Config, role: Role, oldVersion?: string): Command {
  const newExtracted = role.assetExtractedDirectory(config.version);
  const newVolume = role.assetVolumeDirectory(config.version);
  const commands: Command[] = [makeDirectory(newVolume), copyContents(newExtracted, newVolume)];
  if (oldVersion !== undefined && oldVersion.trim() !== '') {
    commands.push(copyContents(newExtracted, role.assetVolumeDirectory(oldVersion), true));
    commands.push(copyContents(role.assetExtractedDirectory(oldVersion), newVolume, true));
  }
  return chain(...commands);
}

function findAndRemoveOlderSiblings(role: Role, path: string): Command {
  return [
    'find',
    posix.dirname(path),
    '-maxdepth 1',
    '-name',
    `'${role.name}-*'`,
    '!',
    '-name',
    posix.basename(path),
    '-exec rm -rf "{}" +',
  ];
}

/** Delete extracted assets and asset volumes of this role's other versions. */
export function cleanUpAssets(role: Role): Command {
  return chain(
    findAndRemoveOlderSiblings(role, role.assetExtractedDirectory()),
    findAndRemoveOlderSiblings(role, role.assetVolumeDirectory()),
  );
}
