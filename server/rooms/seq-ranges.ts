// Ranges of a project's feed numbers (project_seq) as they become known, possibly out of
// order, folded into "everything up to N": the project feed's position (project-feed.ts) and
// what an instance has read of another's stream (cluster/redis-fanout.ts) both move this way.
export interface SeqRange {
  from: number;
  to: number;
}

export class SeqRanges {
  /** Ranges past the position, waiting for the numbers before them. */
  private ahead: SeqRange[] = [];

  constructor(public position: number) {}

  /** Adds a known range; returns whether the position moved. */
  add(range: SeqRange): boolean {
    if (range.to <= this.position) return false;
    this.ahead.push(range);
    return this.advance();
  }

  /** The numbers missing before the first range known ahead, or null when there is no hole. */
  get hole(): SeqRange | null {
    const first = this.ahead[0];
    return first ? { from: this.position + 1, to: first.from - 1 } : null;
  }

  private advance(): boolean {
    const before = this.position;
    this.ahead.sort((a, b) => a.from - b.from);
    while (this.ahead.length > 0 && this.ahead[0]!.from <= this.position + 1) {
      this.position = Math.max(this.position, this.ahead.shift()!.to);
    }
    return this.position > before;
  }
}
