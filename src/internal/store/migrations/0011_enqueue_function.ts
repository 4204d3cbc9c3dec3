import type { Tables } from "../tables.js"
import { createEnqueueFunction, firstShape } from "./enqueueFunction.js"

/**
 * `enqueue(...)`: the producer's insert as a function of the schema, so that it is planned once
 * per connection rather than once per call, on any connection the application hands us.
 */
export const addEnqueueFunction = (tables: Tables) => createEnqueueFunction(tables, firstShape)
