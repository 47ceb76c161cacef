/** wharf's SSH layer: what the rest of wharf imports. */
export { SshPool, SshConnectError, withRemoteTimeout } from './pool.js';
export type { ExecOptions, ExecResult, HostStats, SshLogEvent, SshPoolOptions } from './pool.js';
export { SshError, classifySshError, sshFailure } from './errors.js';
export type { SshFailureKind, SshErrorContext } from './errors.js';
export { shellQuote, shellJoin, shellRaw, commandText } from './quote.js';
export type { RemoteCommand, ShellWord, RawShell } from './quote.js';
export { HostKeyStore, HostKeyError, defaultKnownHostsFiles, defaultRecordFile } from './host-keys.js';
export type { HostKeyPolicy, HostKeyStoreOptions } from './host-keys.js';
export { SshConfig, defaultSshConfigFiles } from './ssh-config.js';
export { resolveTarget, parseJumpSpec, loadSshConfig, describeRoute } from './target.js';
export type { SshSettings, ConnectTarget } from './target.js';
export { uploadCommand } from './upload.js';
export type { UploadOptions } from './upload.js';
export type { RemoteForwardHandle } from './connection.js';
export { DEFAULT_CHANNELS_PER_CONNECTION } from './connection.js';
export { ensureKeyPair, hostKeyLine } from './keys.js';
export { sshProbe } from './probe.js';
