/** Host directories of the app (Kamal's Commands::Server). */
import type { Config } from '../config/index.js';
import { makeDirectory, pipe, removeDirectory, type Command } from './base.js';

export class ServerCommands {
  constructor(readonly config: Config) {}

  /** `mkdir -p .kamal` */
  ensureRunDirectory(): Command {
    return makeDirectory(this.config.runDirectory);
  }

  /** `rm -r .kamal/apps/<service>[-<dest>]` */
  removeAppDirectory(): Command {
    return removeDirectory(this.config.appDirectory);
  }

  /** `ls .kamal/apps | wc -l`: how many apps (service/destination pairs) live on the host. */
  appDirectoryCount(): Command {
    return pipe(['ls', this.config.appsDirectory], ['wc', '-l']);
  }
}
