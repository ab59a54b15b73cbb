/** The transpose of a row-major [rows][columns] matrix, as row-major [columns][rows]. */
export function transposeMatrix(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) out[column * rows + row] = values[row * columns + column];
  }
  return out;
}
