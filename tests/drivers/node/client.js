// node-postgres (`pg`), unmodified, against `rustydb serve` (run by
// tests/server_drivers.rs). Prints one line per check; the Rust test
// compares the whole output. Usage: node client.js PORT
'use strict';
const { Client } = require('pg');

async function main() {
  const client = new Client({
    host: '127.0.0.1',
    port: Number(process.argv[2]),
    user: 'rustydb',
    database: 'rustydb',
  });
  await client.connect();
  await client.query('CREATE TABLE people (id integer PRIMARY KEY, name text, born date)');
  // Parameterised queries go through Parse/Bind/Execute.
  await client.query('INSERT INTO people VALUES ($1, $2, $3), ($4, $5, NULL)', [1, 'ada', '1815-12-10', 2, 'alan']);
  let r = await client.query('SELECT id, name, born::text AS born FROM people WHERE id > $1 ORDER BY id', [0]);
  for (const row of r.rows) console.log('row', JSON.stringify(row));
  console.log('command', r.command, r.rowCount);
  // A named prepared statement, reused.
  for (const id of [1, 2]) {
    r = await client.query({ name: 'by_id', text: 'SELECT name FROM people WHERE id = $1', values: [id] });
    console.log('named', r.rows[0].name);
  }
  await client.query('BEGIN');
  await client.query('UPDATE people SET name = $1 WHERE id = $2', ['grace', 2]);
  await client.query('ROLLBACK');
  r = await client.query('SELECT name FROM people WHERE id = 2');
  console.log('after rollback', r.rows[0].name);
  try {
    await client.query('SELECT * FROM nowhere');
  } catch (e) {
    console.log('error', e.code);
  }
  r = await client.query('SELECT count(*)::int AS n FROM people');
  console.log('count', r.rows[0].n);
  await client.end();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
