#!/usr/bin/env node
/**
 * The `effect-tasks` executable (see `TaskCli`).
 *
 * @since 0.1.0
 */
import { main } from "./TaskCli.js"

main()
