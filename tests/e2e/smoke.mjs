import { createRequire } from 'node:module'
const require = createRequire('/work/main/tests/e2e/x.js')
const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')
const schema = appSchema({ version: 1, tables: [tableSchema({ name: 'episodes', columns: [{ name: 'kind', type: 'string' }, {name:'created_at', type:'number'}, {name:'updated_at', type:'number'}] })] })
class Episode extends Model { static table = 'episodes'; get createdAt() { return this._raw.created_at }; get updatedAt() { return this._raw.updated_at } }
const adapter = new LokiJSAdapter({ schema, useWebWorker: false, useIncrementalIndexedDB: false })
const database = new Database({ adapter, modelClasses: [Episode] })
const e = await database.write(() => database.get('episodes').create(r => { r._raw.id = 'abc'; r._setRaw('kind', 'cramp') }))
console.error(e._raw)
await new Promise(r => setTimeout(r, 5))
await database.write(() => e.update(r => r._setRaw('kind', 'spasm')))
console.error(e._raw)
console.error(typeof synchronize)
