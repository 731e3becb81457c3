/**
 * Imports a package that may not be installed (Socket.IO is a devDependency of the benchmark
 * only). The specifier goes through a variable so TypeScript does not need the package's types
 * to compile this tree; callers describe the slice of the API they use as an interface.
 */
export async function optionalImport<T>(specifier: string): Promise<T | null> {
  try {
    const mod: unknown = await import(specifier);
    return mod as T;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") return null;
    throw e;
  }
}

export const SOCKET_IO_MISSING = "socket.io not installed: skipped";
