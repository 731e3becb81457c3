export declare const ROOT: string;
export declare function newestMtime(path: string): number;
export declare function webBuildInputs(root?: string): string[];
export declare function webBuildStale(root?: string): string | null;
export declare function buildWeb(options?: {
  root?: string;
  force?: boolean;
  log?: (line: string) => void;
}): number;
